"""Decorated handlers, and the zero-code wrapper, under the real runtime interface client
(awslambdaric) driven by a Runtime API served on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lambda_observe.testing import collector
from tests.integration.runtime_api import RuntimeAPI

APP = """
import logging
import time
from lambda_observe import get_logger, subsegment, traced

log = get_logger("app")

@traced(service="rt")
def handler(event, context):
    with subsegment("work"):
        if event.get("sleep"):
            with subsegment("slow call"):
                time.sleep(event["sleep"])
        if event.get("fail"):
            raise ValueError("bad order " + str(event["n"]))
    log.info("handled", extra={"n": event["n"]})
    return {"n": event["n"]}
"""

PLAIN_APP = """
import logging

def handler(event, context):
    logging.getLogger("legacy").warning("plain handler %s", event["n"])
    if event.get("fail"):
        raise KeyError("no such order")
    return {"n": event["n"]}
"""


def start_runtime(tmp: Path, api: RuntimeAPI, daemon: str, handler: str, extra_env: dict[str, str] | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMBDA_OBSERVE_", "_X_AMZN", "AWS_LAMBDA"))}
    env.update(
        {
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "AWS_XRAY_DAEMON_ADDRESS": daemon,
            "AWS_LAMBDA_FUNCTION_NAME": "rt-test",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "LAMBDA_TASK_ROOT": str(tmp),
            "PYTHONPATH": f"{tmp}{os.pathsep}{env.get('PYTHONPATH', '')}",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
    )
    return subprocess.Popen(
        [sys.executable, "-m", "awslambdaric", handler],
        cwd=tmp,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_invocations(tmp: Path, handler: str, events: list[dict[str, Any]], extra_env=None, timeout_ms=30_000):
    with RuntimeAPI() as api, collector() as segs:
        proc = start_runtime(tmp, api, segs.address, handler, extra_env)
        invs = []
        try:
            for event in events:
                inv = api.invoke(event, timeout_ms=timeout_ms)
                finished = inv.done.wait(30) or api.init_failed.is_set()
                invs.append(inv)
                if not finished:
                    break
        finally:
            proc.kill()
            out, err = proc.communicate(timeout=10)
        docs = segs.settle(quiet=0.1)
    return api, invs, out, err, docs


def json_lines(out: str) -> list[dict[str, Any]]:
    lines = []
    for raw in out.splitlines():
        raw = raw.strip()
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


def test_decorated_handler_under_awslambdaric(tmp_path, assert_valid):
    """Request and trace ids per invocation in logs and segments; ColdStart true then false;
    one log line per call; errors reported to the runtime in Lambda's error shape."""
    (tmp_path / "app.py").write_text(APP)
    events = [{"n": 1}, {"n": 2}, {"n": 3, "fail": True}]
    _api, invs, out, err, docs = run_invocations(tmp_path, "app.handler", events)
    assert [i.response for i in invs[:2]] == [{"n": 1}, {"n": 2}], err
    error = invs[2].error
    assert error is not None and error["errorType"] == "ValueError" and error["errorMessage"] == "bad order 3"
    assert isinstance(error.get("stackTrace"), list)
    lines = json_lines(out)
    handled = [x for x in lines if x.get("message") == "handled"]
    assert [x["function_request_id"] for x in handled] == [i.request_id for i in invs[:2]]
    assert [x["xray_trace_id"] for x in handled] == [i.trace_root for i in invs[:2]]
    assert [x["cold_start"] for x in handled] == [True, False]
    assert len(out.count('"handled"') * "x") == 2, "each call logs exactly one line"
    errors = [x for x in lines if x.get("level") == "ERROR" and x.get("function_request_id") == invs[2].request_id]
    assert len(errors) == 1 and errors[0]["exception"]["type"] == "ValueError"
    assert_valid(docs)
    tops = {d["trace_id"]: d for d in docs if d["name"] == "## handler"}
    assert [tops[i.trace_root]["annotations"]["ColdStart"] for i in invs] == [True, False, False]
    assert all(tops[i.trace_root]["parent_id"] == i.parent for i in invs)
    assert tops[invs[2].trace_root]["fault"] is True


def test_zero_code_wrapper_under_awslambdaric(tmp_path, assert_valid):
    """handler=lambda_observe.wrapper.handler + LAMBDA_OBSERVE_HANDLER: an unmodified function in a
    nested package gets JSON logs and tracing, under the real runtime."""
    pkg = tmp_path / "pkg" / "sub"
    pkg.mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "app.py").write_text(PLAIN_APP)
    _api, invs, out, err, docs = run_invocations(
        tmp_path,
        "lambda_observe.wrapper.handler",
        [{"n": 1}, {"n": 2, "fail": True}],
        {"LAMBDA_OBSERVE_HANDLER": "pkg/sub/app.handler"},
    )
    assert invs[0].response == {"n": 1}, err
    assert invs[1].error["errorType"] == "KeyError"
    lines = [x for x in json_lines(out) if x.get("logger") == "legacy"]
    assert [x["function_request_id"] for x in lines] == [i.request_id for i in invs]
    assert_valid(docs)
    assert sorted(d["annotations"]["ColdStart"] for d in docs if d["name"] == "## handler") == [False, True]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "LAMBDA_OBSERVE_HANDLER is not set"),
        ("nope.handler", "module 'nope' was not found"),
        ("pkg.app.missing", "has no attribute 'missing'"),
    ],
)
def test_wrapper_fails_init_clearly(tmp_path, value, message):
    """A missing or wrong LAMBDA_OBSERVE_HANDLER fails the init, naming the variable and what is missing."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "app.py").write_text(PLAIN_APP)
    env = {"LAMBDA_OBSERVE_HANDLER": value} if value else {}
    with RuntimeAPI() as api, collector() as segs:
        proc = start_runtime(tmp_path, api, segs.address, "lambda_observe.wrapper.handler", env)
        assert api.init_failed.wait(30), "the runtime should report an init error"
        proc.kill()
        proc.communicate(timeout=10)
    assert message in api.init_error["errorMessage"]
    if value:
        assert "LAMBDA_OBSERVE_HANDLER" in api.init_error["errorMessage"]


def test_timeout_warning_before_the_kill(tmp_path, assert_valid):
    """A handler sleeping past its deadline logs one WARNING naming the request id and the open
    subsegments, and sends them as still running (in_progress, with the warning in their metadata)
    before the process is killed: that is what X-Ray keeps, next to Lambda's own timeout."""
    (tmp_path / "app.py").write_text(APP)
    with RuntimeAPI() as api, collector() as segs:
        proc = start_runtime(tmp_path, api, segs.address, "app.handler", {"LAMBDA_OBSERVE_TIMEOUT_WARNING_MS": "400"})
        inv = api.invoke({"n": 1, "sleep": 5}, timeout_ms=1500)
        handed_out = time.monotonic() + 30
        while not inv.deadline_ms and time.monotonic() < handed_out:  # the runtime may still be starting
            time.sleep(0.01)
        time.sleep(max(inv.deadline_ms / 1000 - time.time(), 0) + 0.1)  # Lambda kills the process at the deadline
        proc.kill()
        out, err = proc.communicate(timeout=10)
        docs = segs.settle(quiet=0.1)
    warnings = [x for x in json_lines(out) if x.get("level") == "WARNING"]
    assert len(warnings) == 1, out + err
    assert inv.request_id in warnings[0]["message"]
    assert "## handler > work > slow call" in warnings[0]["message"]
    assert warnings[0]["open_subsegments"] == ["## handler", "work", "slow call"]
    assert_valid(docs)
    assert sorted(d["name"] for d in docs) == ["## handler", "slow call", "work"]
    for doc in docs:
        assert doc["in_progress"] is True and "end_time" not in doc and not doc.get("fault")
        assert inv.request_id in doc["metadata"]["lambda_observe"]["timeout_warning"]


def test_invocations_in_time_leave_no_timer(tmp_path):
    """Invocations that end in time leave no timer behind: the runtime is kept alive, idle, until
    well past the moment the last invocation's alarm would have fired, while a reader watches its
    output; then one more invocation runs (awslambdaric waits for it in C, so a Python signal
    handler pending from a late alarm runs only when it arrives). No WARNING line and no
    in-progress document appear."""
    import threading

    (tmp_path / "app.py").write_text(APP)
    margin_ms, timeout_ms = 500, 1500
    lines: list[str] = []
    warned = threading.Event()

    def read(stream: Any) -> None:
        for line in stream:
            lines.append(line)
            if '"WARNING"' in line:
                warned.set()

    with RuntimeAPI() as api, collector() as segs:
        proc = start_runtime(
            tmp_path, api, segs.address, "app.handler", {"LAMBDA_OBSERVE_TIMEOUT_WARNING_MS": str(margin_ms)}
        )
        reader = threading.Thread(target=read, args=(proc.stdout,), daemon=True)
        reader.start()
        invs = []
        try:
            for event in ({"n": 1, "sleep": 0.2}, {"n": 2}):
                invs.append(api.invoke(event, timeout_ms=timeout_ms))
                assert invs[-1].done.wait(30), "the invocation did not finish"
            would_fire = invs[-1].deadline_ms / 1000 - margin_ms / 1000
            # a leftover alarm fires while the runtime waits for the next invocation: wait for its line
            warned.wait(max(would_fire - time.time(), 0) + 1.0)
            invs.append(api.invoke({"n": 3}, timeout_ms=30_000))  # lets a pending alarm handler run
            assert invs[-1].done.wait(30), "the invocation did not finish"
            warned.wait(0.5)
        finally:
            proc.kill()
            proc.wait(timeout=10)
            reader.join(5)
            err = proc.stderr.read() if proc.stderr else ""
        docs = segs.settle(quiet=0.1)
    assert [i.response for i in invs] == [{"n": 1}, {"n": 2}, {"n": 3}], err
    assert not warned.is_set(), "".join(lines)
    assert docs and not [d for d in docs if d.get("in_progress")]
