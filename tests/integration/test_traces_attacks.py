"""What a tester's odd inputs do to the installed command: terminal escapes from `invoke`, file
system mistakes, unreadable files, a missing profile, odd documents from X-Ray, partial answers.
Every failure is a `lambda-observe: ...` line and a non-zero exit, never a traceback."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from lambda_observe.traces import commands
from lambda_observe.traces.client import XRayQueryError, batch_get_traces, make_client
from tests.integration.xray_stub import xray_stub

TRACE = "1-6b000000-00000000000000000000abcd"


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch):
    """Keys of no account (the scripted server accepts any)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


def cli(*args: str, env: dict | None = None, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lambda_observe.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env or dict(os.environ),
        cwd=cwd,
    )


def refused(proc: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("lambda-observe: "), proc.stderr
    for text in expected:
        assert text in proc.stderr, proc.stderr


def saved_trace(tmp_path, **fields) -> str:
    doc = {"id": "a" * 16, "trace_id": TRACE, "name": "h", "start_time": 1795400000.0, "end_time": 1795400000.1}
    doc.update(fields)
    path = tmp_path / "t.json"
    path.write_text(json.dumps([doc]))
    return str(path)


def test_invoke_does_not_pass_terminal_escapes(tmp_path):
    """A handler raising ValueError with ESC and BEL inside a subsegment: `lambda-observe invoke`
    prints the cause line with '?' in their place, and no ESC or BEL anywhere in its output."""
    app = tmp_path / "fn" / "app.py"
    app.parent.mkdir()
    app.write_text(
        "from lambda_observe import subsegment, traced\n\n\n"
        "@traced\n"
        "def handler(event, context):\n"
        "    with subsegment('step'):\n"
        "        raise ValueError('boom \\x1b[2J\\x1b[31mCLEARED\\x1b[0m\\x07')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMBDA_OBSERVE_", "AWS_LAMBDA", "_X_AMZN"))}
    env["LAMBDA_OBSERVE_IDEMPOTENCY_STORE"] = "memory://"
    proc = cli("invoke", f"{app}:handler", env=env, cwd=str(tmp_path))
    assert proc.returncode == 1, proc.stderr
    assert "cause: ValueError: boom ?[2J?[31mCLEARED?[0m?" in proc.stdout, proc.stdout
    assert "\x1b" not in proc.stdout + proc.stderr and "\x07" not in proc.stdout + proc.stderr


def test_file_system_mistakes_are_explained(tmp_path):
    """--save naming a file, --html in a directory that cannot be made, --html naming a directory,
    and a directory holding a subdirectory called sub.json: each a one-line error saying what was
    expected (the last one simply reads the real files)."""
    trace = saved_trace(tmp_path)
    afile = tmp_path / "afile"
    afile.write_text("x")
    with xray_stub(
        [
            {
                "Traces": [
                    {
                        "Id": TRACE,
                        "Segments": [
                            {"Id": "a", "Document": json.dumps(json.loads((tmp_path / "t.json").read_text())[0])}
                        ],
                    }
                ]
            }
        ]
    ) as stub:
        where = ["--region", "us-east-1", "--endpoint-url", stub.url]
        refused(cli("traces", "show", TRACE, "--save", str(afile), *where), "is a file; expected a directory")
        refused(
            cli("traces", "show", TRACE, "--html", "/proc/nope.html", *where), "/proc/nope.html", "expected a file path"
        )
    refused(cli("view", trace, "--html", str(tmp_path)), "is a directory; expected the name of the HTML file")
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "sub.json").mkdir()
    (saved / "t.json").write_bytes((tmp_path / "t.json").read_bytes())
    proc = cli("view", str(saved), "--html", str(tmp_path / "p.html"))
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (json.dumps({"Id": TRACE, "Segments": [{"Id": "a", "Document": "{oops"}]}).encode(), "Document string is not"),
    ],
)
def test_unreadable_saved_files_name_the_file(tmp_path, content, expected):
    """`view` on a deeply nested, non-UTF-8 or broken saved trace says which file and what it expected."""
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    refused(cli("view", str(path), "--html", str(tmp_path / "p.html")), str(path), expected, "expected")


def test_bad_times_still_make_a_page(tmp_path):
    """`"end_time": "abc"` is shown as a bad end, not a float conversion error: the page is written."""
    proc = cli("view", saved_trace(tmp_path, end_time="abc"), "--html", str(tmp_path / "p.html"))
    assert proc.returncode == 0, proc.stderr
    assert "bad end_time 'abc'" in (tmp_path / "p.html").read_text()


def test_huge_duration_and_future_ranges():
    """--since 99999999999w is a typed error; a range wholly in the future is refused with the reason;
    neither makes a call (the endpoint is a closed port)."""
    where = ["--region", "us-east-1", "--endpoint-url", "http://127.0.0.1:9"]
    refused(cli("traces", "find", "--since", "99999999999w", *where), "--since '99999999999w': too far back")
    refused(cli("traces", "find", "--since", "2098-01-01", "--until", "2099-01-01", *where), "in the future")


def test_future_until_is_clamped_with_a_note():
    """--since 7d --until 2099-01-01 asks 28 windows (7 days up to now), and says it clamped."""
    with xray_stub([{"TraceSummaries": []}]) as stub:
        proc = cli(
            "traces",
            "find",
            "--since",
            "7d",
            "--until",
            "2099-01-01",
            "--region",
            "us-east-1",
            "--endpoint-url",
            stub.url,
        )
    assert proc.returncode == 0, proc.stderr
    assert "--until 2099-01-01 is in the future; searching up to now" in proc.stderr
    assert len(stub.requests) == 28


def test_unknown_profile_is_explained(tmp_path):
    """AWS_PROFILE naming no profile: a clear error, no botocore traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    (tmp_path / "config").write_text("[default]\nregion = us-east-1\n")
    env.update(
        AWS_PROFILE="nosuch",
        AWS_CONFIG_FILE=str(tmp_path / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
    )
    refused(cli("traces", "find", "--since", "1h", env=env), "nosuch", "aws configure list-profiles")


ODD = [
    {"id": "a" * 16, "trace_id": TRACE, "name": 123, "start_time": 1795400000.0, "end_time": 1795400000.2},
    {
        "id": "b" * 16,
        "trace_id": TRACE,
        "name": "open",
        "type": "subsegment",
        "parent_id": "a" * 16,
        "start_time": 1795400000.1,
        "end_time": None,
    },
]


def test_show_survives_odd_documents_and_writes_files_first(tmp_path):
    """BatchGetTraces returning a document named 123 with a null end: `traces show` draws it (the
    null end as in progress), and --save and --html are written."""
    answer = {"Traces": [{"Id": TRACE, "Segments": [{"Id": d["id"], "Document": json.dumps(d)} for d in ODD]}]}
    with xray_stub([answer]) as stub:
        proc = cli(
            "traces",
            "show",
            TRACE,
            "--save",
            str(tmp_path / "s"),
            "--html",
            str(tmp_path / "p.html"),
            "--region",
            "us-east-1",
            "--endpoint-url",
            stub.url,
        )
    assert proc.returncode == 0, proc.stderr
    assert "123" in proc.stdout and "IN PROGRESS" in proc.stdout
    assert (tmp_path / "s" / f"{TRACE}.json").exists() and (tmp_path / "p.html").exists()


def test_an_id_both_returned_and_unprocessed_is_not_missing():
    """X-Ray listing an id in UnprocessedTraceIds and also returning it: it is not reported missing."""
    answer = {"Traces": [{"Id": TRACE, "Segments": []}], "UnprocessedTraceIds": [TRACE]}
    with xray_stub([answer]) as stub:
        traces, missing = batch_get_traces(make_client("us-east-1", stub.url), [TRACE])
    assert [t["Id"] for t in traces] == [TRACE] and missing == []


def test_show_with_nothing_found_writes_no_page(tmp_path):
    """No id found: an error saying so, and no empty page or directory left behind."""
    with (
        xray_stub([{"Traces": [], "UnprocessedTraceIds": []}]) as stub,
        pytest.raises(XRayQueryError, match=r"X-Ray has no trace .*nothing was saved or written"),
    ):
        commands.show(
            [TRACE],
            save=str(tmp_path / "s"),
            html=str(tmp_path / "p.html"),
            client=make_client("us-east-1", stub.url),
            out=io.StringIO(),
        )
    assert not (tmp_path / "p.html").exists() and not (tmp_path / "s").exists()


def test_limit_hint_when_the_limit_cut_the_search():
    """--limit 2 with exactly 2 in the newest window and older windows unread: the hint is printed."""
    page = {"TraceSummaries": [{"Id": f"1-6b00000{n}-00000000000000000000000{n}", "Duration": 0.1} for n in (1, 2)]}
    with xray_stub([page]) as stub:
        out = io.StringIO()
        shown = commands.find(None, "1d", limit=2, client=make_client("us-east-1", stub.url), out=out)
    assert len(shown) == 2 and len(stub.requests) == 1
    assert "more may match" in out.getvalue()
