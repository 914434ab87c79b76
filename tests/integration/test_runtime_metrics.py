"""Metrics and log buffering under the real runtime interface client (awslambdaric)."""

from __future__ import annotations

import time

from lambda_observe.testing import collector
from tests.conftest import emf_problems
from tests.integration.runtime_api import RuntimeAPI
from tests.integration.test_runtime import json_lines, run_invocations, start_runtime

APP = """
import logging
import time
from lambda_observe import add_dimension, add_metric, traced

log = logging.getLogger("app")

@traced(service="rt")
def handler(event, context):
    log.debug("held %s", event["n"])
    add_metric("Handled", 1)
    add_dimension("kind", event.get("kind", "plain"))
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("fail"):
        raise ValueError("bad order " + str(event["n"]))
    return {"n": event["n"]}
"""

ENV = {"LAMBDA_OBSERVE_METRICS_NAMESPACE": "RuntimeTest", "LAMBDA_OBSERVE_LOG_BUFFER": "DEBUG"}


def test_metrics_and_buffered_logs_under_awslambdaric(tmp_path, emf_validator):
    """Under the runtime: ColdStart once, one EMF line per invocation (valid), held DEBUG lines only for
    the failed invocation, written before its error line."""
    (tmp_path / "app.py").write_text(APP)
    events = [{"n": 1}, {"n": 2}, {"n": 3, "fail": True, "kind": "failing"}]
    _api, invs, out, err, _docs = run_invocations(tmp_path, "app.handler", events, ENV)
    assert [i.response for i in invs[:2]] == [{"n": 1}, {"n": 2}], err
    assert invs[2].error["errorType"] == "ValueError"
    lines = json_lines(out)
    emf = [x for x in lines if "_aws" in x]
    for doc in emf:
        assert emf_problems(doc, emf_validator) == []
    names = [[m["Name"] for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]] for d in emf]
    assert names == [["ColdStart"], ["Handled"], ["Handled"], ["Handled"]]
    assert emf[0]["function_name"] == "rt-test" and emf[0]["service"] == "rt"
    assert [d["kind"] for d in emf[1:]] == ["plain", "plain", "failing"]
    logs = [x for x in lines if "_aws" not in x]
    assert [x["message"] for x in logs] == ["held 3", "handler raised ValueError: bad order 3"]
    assert {x["function_request_id"] for x in logs} == {invs[2].request_id}


def test_held_lines_before_the_timeout_warning_under_awslambdaric(tmp_path):
    """A handler killed at its deadline: its held DEBUG line and its metrics are written before the
    timeout warning, while the process still runs."""
    (tmp_path / "app.py").write_text(APP)
    with RuntimeAPI() as api, collector() as segs:
        env = {**ENV, "LAMBDA_OBSERVE_TIMEOUT_WARNING_MS": "400"}
        proc = start_runtime(tmp_path, api, segs.address, "app.handler", env)
        inv = api.invoke({"n": 1, "sleep": 5}, timeout_ms=1500)
        handed_out = time.monotonic() + 30
        while not inv.deadline_ms and time.monotonic() < handed_out:
            time.sleep(0.01)
        time.sleep(max(inv.deadline_ms / 1000 - time.time(), 0) + 0.1)  # Lambda kills the process at the deadline
        proc.kill()
        out, err = proc.communicate(timeout=10)
    kinds = [
        "emf:" + x["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] if "_aws" in x else x["level"]
        for x in json_lines(out)
    ]
    assert kinds == ["emf:ColdStart", "DEBUG", "emf:Handled", "WARNING"], out + err
