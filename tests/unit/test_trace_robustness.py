"""Odd and hostile trace documents: both renderers show every entity (marked when its times are bad,
it is in progress, or its parents loop), never crash, and `traces find` ranges stay bounded."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_observe.local.model import build_model
from lambda_observe.local.tree import entities
from lambda_observe.local.waterfall import render
from lambda_observe.traces._time import check_range, parse_time, windows
from lambda_observe.traces.documents import load

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
TRACE = "1-6b000000-00000000000000000000abcd"


def sub(ident: str, parent: str, name: str, **fields: object) -> dict:
    doc = {"id": ident, "trace_id": TRACE, "name": name, "type": "subsegment", "parent_id": parent}
    doc.setdefault("start_time", 1795400000.0)
    doc.setdefault("end_time", 1795400000.1)
    doc.update(fields)
    return doc


def test_cycles_and_missing_times_are_shown_and_marked():
    """Two subsegments whose parent_ids point at each other, and one without start_time, appear in
    the terminal waterfall and in the page model, marked; the counts include them."""
    docs = [
        sub("a" * 16, "f" * 16, "handler"),
        sub("b" * 16, "c" * 16, "loop one"),
        sub("c" * 16, "b" * 16, "loop two"),
        {k: v for k, v in sub("d" * 16, "a" * 16, "no start").items() if k != "start_time"},
    ]
    text = render(docs)
    for name in ("handler", "loop one", "loop two", "no start"):
        assert name in text
    assert "(4 entities)" in text
    assert "parent_id cycle" in text and "no start_time" in text
    rows = build_model(docs)["traces"][0]["rows"]
    assert sorted(r["name"] for r in rows) == ["handler", "loop one", "loop two", "no start"]
    notes = {r["name"]: r.get("n", []) for r in rows}
    assert any("parent_id cycle" in n for n in notes["loop one"] + notes["loop two"])
    assert notes["no start"] == ["no start_time"]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 1e20, -5.0, "abc", None, True])
def test_bad_times_are_treated_as_absent(bad):
    """A start or end time that is not a finite epoch second before 2100 makes no arithmetic: the
    entity is kept with a note, the page's times are finite, and the JSON has no NaN."""
    docs = [sub("a" * 16, "f" * 16, "handler"), sub("b" * 16, "a" * 16, "odd", start_time=bad, end_time=bad)]
    model = build_model(docs)
    trace = model["traces"][0]
    json.dumps(model, allow_nan=False)
    assert trace["start"] == 1795400000.0 and 0 <= trace["ms"] < 1000
    odd = next(r for r in trace["rows"] if r["name"] == "odd")
    assert odd["n"] and odd["o"] == 0 and odd["ms"] == 0
    assert "odd" in render(docs)


def test_in_progress_negative_and_odd_types():
    """An in-progress entity says so in both renderers; an end before the start is clock skew; a
    numeric name and a null end do not crash the terminal waterfall."""
    docs = [
        sub("a" * 16, "f" * 16, 123, end_time=None),
        sub("b" * 16, "a" * 16, "running", in_progress=True, end_time=None),
        sub("c" * 16, "a" * 16, "skewed", start_time=1795400000.5, end_time=1795400000.2),
    ]
    text = render(docs)
    assert "123" in text and "IN PROGRESS" in text and "clock skew: ends 300.00 ms before it starts" in text
    rows = {r["name"]: r for r in build_model(docs)["traces"][0]["rows"]}
    assert rows["running"]["n"] == ["in progress"] and rows["123"]["n"] == ["in progress"]
    assert rows["skewed"]["ms"] == 0 and "clock skew" in rows["skewed"]["n"][0]


FIELD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(max_examples=150, deadline=None)
@given(
    fields=st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                k: FIELD
                for k in (
                    "id",
                    "name",
                    "start_time",
                    "end_time",
                    "parent_id",
                    "annotations",
                    "http",
                    "aws",
                    "sql",
                    "cause",
                    "in_progress",
                    "fault",
                    "namespace",
                    "subsegments",
                    "trace_id",
                    "type",
                )
            },
        ),
        min_size=1,
        max_size=5,
    )
)
def test_any_document_renders(fields):
    """Whatever type each field has, the terminal waterfall and the page model are built, the model
    is finite JSON, and every entity is a row."""
    text = render(fields)
    model = build_model(fields)
    json.dumps(model, allow_nan=False)
    assert "\x1b" not in text
    distinct = len({d["id"] for d in fields if isinstance(d.get("id"), str)})
    rows = sum(len(t["rows"]) for t in model["traces"])
    assert rows == len(entities(fields)) >= distinct + sum(not isinstance(d.get("id"), str) for d in fields)


def test_terminal_renderer_drops_control_characters():
    """ESC and BEL in a name or an exception message reach the terminal as '?'."""
    doc = sub(
        "a" * 16, "f" * 16, "x\x1b[2J", cause={"exceptions": [{"id": "1", "type": "E", "message": "\x07\x1b]0;t"}]}
    )
    text = render([doc])
    assert "\x1b" not in text and "\x07" not in text and "cause: E: ??]0;t" in text


@settings(max_examples=200, deadline=None)
@given(
    since=st.integers(min_value=-40 * 86400, max_value=200 * 365 * 86400),
    until=st.integers(min_value=-40 * 86400, max_value=200 * 365 * 86400),
)
def test_ranges_never_need_more_than_thirty_days_of_windows(since, until):
    """Any --since/--until (seconds before now; negative means future) is refused or clamped so that
    the query needs at most 30*4+1 windows; a range wholly in the future is refused with the reason."""
    start, end = NOW - timedelta(seconds=since), NOW - timedelta(seconds=until)
    try:
        effective = check_range(start, end, NOW)
    except ValueError as exc:
        assert start >= end or start >= NOW or "30 days" in str(exc)
        if NOW <= start < end:
            assert "in the future" in str(exc)
        return
    assert effective <= NOW
    assert len(windows(start, effective)) <= 30 * 4 + 1


def test_future_until_is_clamped():
    """--until 2099 with --since 7d queries up to now: 28 windows, not 100,000."""
    until = parse_time("2099-01-01", NOW, "--until")
    end = check_range(NOW - timedelta(days=7), until, NOW)
    assert end == NOW and len(windows(NOW - timedelta(days=7), end)) == 28


def test_huge_and_upper_case_durations():
    """A duration too large for a date is a typed error naming the option; 7D is 7d."""
    with pytest.raises(ValueError, match="--since '99999999999w': too far back"):
        parse_time("99999999999w", NOW, "--since")
    assert parse_time("7D", NOW, "--since") == NOW - timedelta(days=7)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply to read; expected a JSON trace file"),
        (b"\xff\xfe[]", "not UTF-8 text"),
        (
            json.dumps({"Id": "1-x", "Segments": [{"Id": "s", "Document": "{nope"}]}).encode(),
            "segment 1: the Document string is not a JSON",
        ),
    ],
)
def test_unreadable_files_name_the_file(tmp_path, content, expected):
    """Deep nesting, bytes that are not UTF-8 and a Document that is not JSON are ValueErrors that
    name the file and what was expected."""
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"bad\.json") as info:
        load([path])
    assert expected in str(info.value)


def test_a_directory_named_like_json_is_skipped(tmp_path):
    """A subdirectory called sub.json inside a saved directory is not read as a file."""
    (tmp_path / "sub.json").mkdir()
    (tmp_path / "t.json").write_text(json.dumps([sub("a" * 16, "f" * 16, "h")]))
    assert [d["name"] for d in load([tmp_path])] == ["h"]
