"""`traces find` / `traces show` / `view` against X-Ray's API over HTTP: moto's server for the real
API, a scripted loopback server for AWS's error responses, the real boto3 client throughout."""

from __future__ import annotations

import io
import itertools
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from lambda_observe.traces import commands
from lambda_observe.traces._time import WINDOW
from lambda_observe.traces.client import XRayQueryError, batch_get_traces, find_traces, make_client
from lambda_observe.traces.documents import documents_of, load
from tests.integration.traces_data import invoke_traces, shifted
from tests.integration.xray_stub import EXPIRED, THROTTLED, invalid, xray_stub

HOUR = 3600
FAST = {"base_delay": 0.001}  # backoff in these tests: real retries, short sleeps


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch):
    """Keys of no account (moto and the scripted server accept any), whatever ran before this test."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


def put(endpoint: str, region: str, traces: list[list[dict]]) -> None:
    client = make_client(region, endpoint)
    for docs in traces:
        reply = client.put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in docs])
        assert reply["UnprocessedTraceSegments"] == []


def record_calls(client) -> list[dict]:
    """The parameters of every GetTraceSummaries call the client makes (botocore's event system)."""
    calls: list[dict] = []
    client.meta.events.register(
        "provide-client-params.xray.GetTraceSummaries", lambda params, **_: calls.append(dict(params))
    )
    return calls


@pytest.fixture
def library_traces(lambda_env, assert_valid):
    """Four real invocations: three orders and one failing charge, each trace as the library sent it."""
    traces = invoke_traces(
        lambda_env,
        [
            {"order_id": "41"},
            {"order_id": "42"},
            {"order_id": "43", "fail": True, "reason": "card declined \x1b[31m"},
            {"order_id": "44", "note": "\x1b[2J\x1b]0;pwned\x07"},  # terminal escapes in an annotation
        ],
    )
    for docs in traces:
        assert_valid(docs)
    return traces


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lambda_observe.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env or dict(os.environ),
    )


def test_find_walks_six_hour_windows_newest_first(moto_endpoint, library_traces, assert_valid):
    """Traces 1 h, 20 h and 50 h old are all found with --since 3d; one 80 h old is not. Every call
    covers at most 6 hours, the windows touch end to end, newest first, and cover the whole range."""
    ages = [1 * HOUR, 20 * HOUR, 50 * HOUR, 80 * HOUR]
    moved = [shifted(docs, age) for docs, age in zip(library_traces, ages, strict=False)]
    for docs in moved:
        assert_valid(docs)
    put(moto_endpoint, "eu-west-1", moved)
    client = make_client("eu-west-1", moto_endpoint)
    calls = record_calls(client)
    out = io.StringIO()
    shown = commands.find(None, "3d", client=client, out=out, **FAST)

    ids = [docs[0]["trace_id"] for docs in moved]
    assert [s.id for s in shown] == ids[:3], out.getvalue()
    assert ids[3] not in out.getvalue()
    assert [s.status for s in shown] == ["ok", "ok", "fault"]  # the failed charge is a fault
    assert len(calls) == 12
    for call in calls:
        assert call["EndTime"] - call["StartTime"] <= WINDOW
    for newer, older in itertools.pairwise(calls):
        assert older["EndTime"] == newer["StartTime"]
    assert calls[0]["EndTime"] - calls[-1]["StartTime"] == timedelta(days=3)
    assert datetime.now(timezone.utc) - calls[0]["EndTime"] < timedelta(minutes=5)
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:4] == ["time", "(UTC)", "duration", "status"]
    assert ids[0] in lines[1] and ids[2] in lines[3] and "fault" in lines[3]


def test_limit_stops_after_the_window_that_fills_it(moto_endpoint, library_traces):
    """--limit 1 asks only the newest windows until one trace is found, and shows one."""
    moved = [
        shifted(docs, age)
        for docs, age in zip(library_traces, [2 * HOUR, 13 * HOUR, 14 * HOUR, 15 * HOUR], strict=False)
    ]
    put(moto_endpoint, "eu-west-2", moved)
    client = make_client("eu-west-2", moto_endpoint)
    calls = record_calls(client)
    shown = commands.find(None, "7d", limit=1, client=client, out=io.StringIO(), **FAST)
    assert [s.id for s in shown] == [moved[0][0]["trace_id"]]
    assert len(calls) == 1


def test_filter_goes_to_every_window_and_the_api_message_is_shown(moto_endpoint, library_traces):
    """The filter expression is sent verbatim in each window's call; moto 5.2.5 does not evaluate
    filter expressions and answers 500 InternalFailure, which the user sees with its message."""
    put(moto_endpoint, "eu-central-1", library_traces)
    client = make_client("eu-central-1", moto_endpoint)
    calls = record_calls(client)
    with pytest.raises(XRayQueryError) as info:
        list(
            find_traces(
                client,
                datetime.now(timezone.utc) - timedelta(hours=20),
                datetime.now(timezone.utc),
                'annotation.order_id = "42"',
                attempts=2,
                **FAST,
            )
        )
    assert info.value.kind == "api"
    assert "InternalFailure" in str(info.value) and "Not implemented yet - moto" in str(info.value)
    assert calls and all(c["FilterExpression"] == 'annotation.order_id = "42"' for c in calls)


def test_show_save_and_view_round_trip(moto_endpoint, library_traces, assert_valid, tmp_path):
    """show fetches whole traces (BatchGetTraces, 5 ids per call) and draws the invoke waterfall;
    --save writes the raw API objects; loading them gives back the same documents; view writes the page."""
    put(moto_endpoint, "ap-southeast-2", library_traces)
    client = make_client("ap-southeast-2", moto_endpoint)
    ids = [docs[0]["trace_id"] for docs in library_traces]
    out = io.StringIO()
    traces = commands.show(ids, save=str(tmp_path / "saved"), html=str(tmp_path / "show.html"), client=client, out=out)
    text = out.getvalue()
    assert len(traces) == 4
    for tid in ids:
        assert f"trace {tid}" in text
    assert "charge card" in text and "FAULT" in text and "cause: RuntimeError: card declined ?[31m" in text
    assert "\x1b" not in text and "\x07" not in text  # shown, not obeyed by the terminal
    assert "note='\\x1b[2J\\x1b]0;pwned\\x07'" in text
    fetched = {t["Id"]: documents_of(t) for t in traces}
    for docs in fetched.values():
        assert_valid(docs)
    assert sorted(fetched) == sorted(ids)
    for docs in library_traces:  # what was put is what came back
        assert fetched[docs[0]["trace_id"]] == docs
    files = sorted((tmp_path / "saved").glob("*.json"))
    assert len(files) == 4
    loaded = load([tmp_path / "saved"])
    assert sorted(json.dumps(d, sort_keys=True) for d in loaded) == sorted(
        json.dumps(d, sort_keys=True) for docs in fetched.values() for d in docs
    )
    commands.view([str(tmp_path / "saved")], str(tmp_path / "view.html"), out=io.StringIO())
    for page in ("show.html", "view.html"):
        html = (tmp_path / page).read_text()
        assert all(tid in html for tid in ids)


def test_show_names_missing_traces(moto_endpoint):
    """An id X-Ray does not have is reported, not silently dropped."""
    client = make_client("ca-central-1", moto_endpoint)
    traces, missing = batch_get_traces(client, ["1-00000000-000000000000000000000000"])
    assert traces == [] and missing == ["1-00000000-000000000000000000000000"]
    with pytest.raises(XRayQueryError, match="X-Ray has no trace 1-00000000-000000000000000000000000"):
        commands.show(["1-00000000-000000000000000000000000"], client=client, out=io.StringIO())


def test_the_commands_end_to_end(moto_endpoint, library_traces, tmp_path):
    """The installed command: find prints the table, show saves and writes a page, view reads it back."""
    moved = [
        shifted(docs, age) for docs, age in zip(library_traces, [HOUR, 9 * HOUR, 30 * HOUR, 31 * HOUR], strict=False)
    ]
    put(moto_endpoint, "sa-east-1", moved)
    ids = [docs[0]["trace_id"] for docs in moved]
    where = ["--region", "sa-east-1", "--endpoint-url", moto_endpoint]
    found = cli("traces", "find", "--since", "2d", *where)
    assert found.returncode == 0, found.stderr
    rows = found.stdout.splitlines()[1:]
    assert [next(t for t in ids if t in row) for row in rows] == ids
    shown = cli("traces", "show", *ids[:2], "--save", str(tmp_path / "s"), "--html", str(tmp_path / "p.html"), *where)
    assert shown.returncode == 0, shown.stderr
    assert "## shop_handler" in shown.stdout and (tmp_path / "p.html").exists()
    viewed = cli("view", str(tmp_path / "s"), "--html", str(tmp_path / "v.html"))
    assert viewed.returncode == 0, viewed.stderr
    assert ids[0] in (tmp_path / "v.html").read_text()


def test_no_credentials_is_explained(moto_endpoint, tmp_path):
    """With no credentials anywhere in boto3's chain, the command says so and how to fix it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_REGION="us-east-1",
    )
    proc = cli("traces", "find", "--since", "1h", "--endpoint-url", moto_endpoint, env=env)
    assert proc.returncode == 1
    assert "no AWS credentials found" in proc.stderr and "AWS_PROFILE" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_range_over_thirty_days_is_refused():
    """--since 40d is refused before any call, with the reason (X-Ray keeps traces 30 days)."""
    proc = cli("traces", "find", "--since", "40d", "--region", "us-east-1", "--endpoint-url", "http://127.0.0.1:9")
    assert proc.returncode == 2
    assert "X-Ray keeps traces for 30 days" in proc.stderr and "40.0 days ago" in proc.stderr


def test_expired_token_is_explained():
    """AWS's ExpiredTokenException answer becomes a message that says to refresh the credentials."""
    with xray_stub([EXPIRED]) as stub:
        client = make_client("us-east-1", stub.url)
        with pytest.raises(XRayQueryError) as info:
            commands.find(None, "1h", client=client, out=io.StringIO(), **FAST)
    assert info.value.kind == "expired"
    assert "The security token included in the request is expired" in str(info.value)
    assert "aws sso login" in str(info.value)
    assert len(stub.requests) == 1  # not retried


def test_throttling_is_retried_then_succeeds():
    """Two 429 ThrottledException answers, then a page: the query goes through after backing off."""
    page = {"TraceSummaries": [{"Id": "1-6b000000-000000000000000000000001", "Duration": 0.2, "HasFault": False}]}
    with xray_stub([THROTTLED, THROTTLED, page, {"TraceSummaries": []}]) as stub:
        client = make_client("us-east-1", stub.url)
        shown = commands.find(None, "1h", client=client, out=io.StringIO(), **FAST)
    assert [s.id for s in shown] == ["1-6b000000-000000000000000000000001"]
    assert len(stub.requests) == 3


def test_persistent_throttling_is_reported():
    """Throttled on every attempt: backed off between attempts (each pause drawn below a cap that doubles),
    then reported with the API's message and the number of attempts."""
    slept: list[float] = []
    with xray_stub([THROTTLED]) as stub:
        client = make_client("us-east-1", stub.url)
        with pytest.raises(XRayQueryError) as info:
            commands.find(None, "1h", client=client, out=io.StringIO(), attempts=4, base_delay=0.01, sleep=slept.append)
    assert info.value.kind == "throttled"
    assert "kept throttling" in str(info.value) and "after 4 attempts" in str(info.value)
    assert "Rate exceeded" in str(info.value)
    assert len(stub.requests) == 4
    assert len(slept) == 3 and all(0 <= d <= 0.01 * 2**i for i, d in enumerate(slept))


def test_invalid_filter_shows_the_api_message_and_exits_2():
    """An InvalidRequestException about the filter is shown verbatim; the command exits 2."""
    message = "Invalid filter expression: unexpected token '=' at position 21"
    with xray_stub([invalid(message)]) as stub:
        proc = cli(
            "traces",
            "find",
            "--filter",
            "annotation.order_id == = 42",
            "--since",
            "1h",
            "--region",
            "us-east-1",
            "--endpoint-url",
            stub.url,
        )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert stub.requests[0][1]["FilterExpression"] == "annotation.order_id == = 42"


def test_pages_are_followed_and_matched_annotations_listed():
    """Each window's NextToken is followed; the table lists the annotation values the filter names."""

    def summary(n: int, value: str) -> dict:
        return {
            "Id": f"1-6b0000{n:02x}-00000000000000000000000{n % 10}",
            "StartTime": 1795400000 + n,
            "Duration": 0.05,
            "HasError": n == 2,
            "HasThrottle": n == 2,
            "Annotations": {
                "order_id": [{"AnnotationValue": {"StringValue": value}, "ServiceIds": []}],
                "ColdStart": [{"AnnotationValue": {"BooleanValue": True}, "ServiceIds": []}],
            },
        }

    pages = [
        {"TraceSummaries": [summary(1, "42")], "NextToken": "page-2"},
        {"TraceSummaries": [summary(2, "42")]},
        {"TraceSummaries": []},
    ]
    with xray_stub(pages) as stub:
        client = make_client("us-east-1", stub.url)
        out = io.StringIO()
        shown = commands.find('annotation.order_id = "42"', "7h", client=client, out=out, **FAST)
    assert [s.status for s in shown] == ["throttle", "ok"]  # newest first: StartTime +2 before +1
    assert stub.requests[1][1]["NextToken"] == "page-2"
    assert len(stub.requests) == 3  # two pages of the newest window, one of the older
    text = out.getvalue()
    assert "matched annotations" in text and "order_id='42'" in text and "ColdStart" not in text
