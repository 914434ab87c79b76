"""Parsing _X_AMZN_TRACE_ID: the X-Ray SDK's decisions under Lambda, on any input."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_observe._trace_header import parse

ROOT = "1-5759e988-bd862e3fe1be46a994272793"


def test_lambda_header():
    """Root, parent and sampling, with extra fields such as Lineage ignored."""
    header = parse(f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:0")
    assert header == (ROOT, "53995c3f42cd8ad8", True)


def test_unsampled_missing_parent_and_spaces():
    """Sampled=0 is kept; a missing or bad parent is None; '; ' separators are tolerated."""
    assert parse(f"Root={ROOT};Sampled=0") == (ROOT, None, False)
    assert parse(f"Root={ROOT}; Parent=zz; Sampled=1") == (ROOT, None, True)
    assert parse(f"Root={ROOT} ; Parent = 53995c3f42cd8ad8 ;Sampled= 1") == (ROOT, "53995c3f42cd8ad8", True)


@pytest.mark.parametrize("sampled", ["Sampled=?", "", "Sampled=", "Sampled=2", "Sampled=true", "sampled=1"])
def test_only_sampled_1_is_sampled(sampled):
    """Sampled=? (undecided), a missing Sampled, any other value, or a wrong-case key: not sampled,
    as the X-Ray SDK decides under Lambda (DummySegment or DummySubsegments)."""
    assert parse(f"Root={ROOT};Parent=53995c3f42cd8ad8;{sampled}") == (ROOT, "53995c3f42cd8ad8", False)


def test_malformed_is_none():
    """No header, no root, or a root of the wrong shape: not traced."""
    for raw in (None, "", "garbage", "Root=1-abc", "Parent=53995c3f42cd8ad8", f"Root={ROOT[:-1]}"):
        assert parse(raw) is None


@given(st.text(max_size=200))
def test_never_raises(raw):
    """Any string parses to a header or None, never an exception."""
    result = parse(raw)
    assert result is None or result.root.startswith("1-")


@given(
    st.from_regex(r"[0-9a-f]{8}", fullmatch=True),
    st.from_regex(r"[0-9a-f]{24}", fullmatch=True),
    st.from_regex(r"[0-9a-f]{16}", fullmatch=True),
    st.sampled_from(["0", "1"]),
)
def test_round_trip(epoch, unique, parent, sampled):
    """Every well-formed header gives back its parts."""
    header = parse(f"Root=1-{epoch}-{unique};Parent={parent};Sampled={sampled}")
    assert header == (f"1-{epoch}-{unique}", parent, sampled == "1")


HEX = "0123456789abcdefABCDEF"
roots = st.builds(
    lambda a, b: f"1-{a}-{b}",
    st.text(HEX, min_size=8, max_size=8),
    st.text(HEX, min_size=24, max_size=24),
)
parents = st.text(HEX, min_size=16, max_size=16)
garbage = st.text(st.characters(blacklist_characters=";="), max_size=40)
spaces = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def headers(draw):
    """Fields in any order, with duplicates, spaces, wrong-case keys, garbage and unicode."""
    fields: list[tuple[str, str | None]] = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["Root", "Parent", "Sampled", "case", "other", "bare"]))
        if kind == "Root":
            fields.append(("Root", draw(roots | garbage)))
        elif kind == "Parent":
            fields.append(("Parent", draw(parents | garbage)))
        elif kind == "Sampled":
            fields.append(("Sampled", draw(st.sampled_from(["0", "1", "?", "", "2", "yes"]) | garbage)))
        elif kind == "case":
            fields.append((draw(st.sampled_from(["root", "PARENT", "sampled", "ROOT"])), draw(roots | parents)))
        elif kind == "other":
            fields.append((draw(st.sampled_from(["Lineage", "Self", "Ünïcode", "x" * 300])), draw(garbage)))
        else:
            fields.append((draw(garbage), None))  # no '=': not a field
    pads = [(draw(spaces), draw(spaces)) for _ in fields]
    text = ";".join(
        f"{lead}{key}{trail}" if value is None else f"{lead}{key}={value}{trail}"
        for (key, value), (lead, trail) in zip(fields, pads, strict=True)
    )
    return text, fields


def expected(fields):
    """What the header means: the last value of each exact (case-sensitive) key, values stripped."""
    last: dict[str, str] = {}
    for key, value in fields:
        if key in ("Root", "Parent", "Sampled") and value is not None:
            last[key] = value.strip()
    return last


@settings(max_examples=120, deadline=None)
@given(headers())
def test_headers_of_any_shape(generated):
    """Any order, spacing, duplicates (last wins), wrong case (ignored), garbage and unicode: the
    parse keeps a well-formed root, a well-formed parent, and Sampled=1 only."""
    text, fields = generated
    want = expected(fields)
    got = parse(text)
    root = want.get("Root")
    if root is None or not re.fullmatch(r"1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}", root):
        # a key-less fragment such as "Root=..." inside garbage cannot occur: garbage has no '='
        assert got is None
        return
    assert got is not None and got.root == root
    parent = want.get("Parent")
    assert got.parent == (parent if parent and re.fullmatch(r"[0-9a-fA-F]{16}", parent) else None)
    assert got.sampled is (want.get("Sampled") == "1")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=100).map(lambda b: b.decode("latin-1")))
def test_never_raises_on_any_text(raw):
    """Any text parses to a well-formed header or None, never an exception."""
    got = parse(raw)
    assert got is None or (
        re.fullmatch(r"1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}", got.root) and isinstance(got.sampled, bool)
    )


def test_huge_header():
    """A megabyte of fields still parses, keeping the last of each key."""
    raw = ";".join(["Lineage=" + "x" * 1000] * 1000 + [f"Root={ROOT}", "Parent=53995c3f42cd8ad8", "Sampled=1"])
    assert parse(raw) == (ROOT, "53995c3f42cd8ad8", True)


def _sdk_trace_header():
    """The X-Ray SDK's TraceHeader, loaded from its file (importing aws_xray_sdk.core builds a recorder)."""
    spec = importlib.util.find_spec("aws_xray_sdk")
    assert spec is not None and spec.origin is not None
    path = Path(spec.origin).parent / "core" / "models" / "trace_header.py"
    module_spec = importlib.util.spec_from_file_location("_sdk_trace_header", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.TraceHeader


SDK_HEADER = _sdk_trace_header()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Root", "Parent", "Sampled", "Lineage", "sampled"]),
            roots | parents | st.sampled_from(["0", "1", "?", "", "2"]),
        ),
        max_size=6,
    )
)
def test_traced_exactly_when_the_sdk_would_send(fields):
    """On headers the SDK reads (no spaces), we trace exactly when the SDK under Lambda would send
    subsegments: Root, Parent and Sampled=1 all present (lambda_launcher._initialize_context)."""
    raw = ";".join(f"{k}={v}" for k, v in fields)
    sdk = SDK_HEADER.from_header_str(raw)
    sdk_sends = bool(sdk.root) and bool(sdk.parent) and sdk.sampled == 1
    ours = parse(raw)
    traced = ours is not None and ours.parent is not None and ours.sampled
    # ours also requires X-Ray's shape for root and parent, which the SDK does not check
    shaped = ours is not None and sdk.root == ours.root and sdk.parent == ours.parent
    if shaped or not sdk_sends:
        assert traced == sdk_sends, (raw, sdk.root, sdk.parent, sdk.sampled, ours)


_HEX = "0123456789abcdefABCDEF"


@given(
    st.text(_HEX, min_size=8, max_size=8),
    st.text(_HEX, min_size=24, max_size=24),
    st.text(_HEX, min_size=15, max_size=17),
    st.sampled_from(["1", "0", "?", " 1", "", "x"]),
    st.lists(
        st.sampled_from(["Lineage=a:1", "Root=1-00000000-000000000000000000000000", "Parent=0123456789abcdef"])
        | st.sampled_from(["Sampled=0", "Sampled=1", "Self=1-2-3", "=", "", "x"])
        | st.text(max_size=12),
        max_size=3,
    ),
)
def test_the_usual_shape_decides_as_the_field_loop(
    time_: str, rest_id: str, parent: str, sampled: str, rest: list[str]
):
    """The one-match path for Lambda's own header shape decides exactly as the field-by-field
    parse does (a leading space makes the same header take the field loop)."""
    header = ";".join([f"Root=1-{time_}-{rest_id}", f"Parent={parent}", f"Sampled={sampled}", *rest])
    assert parse(header) == parse(" " + header)
