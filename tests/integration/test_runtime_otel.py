"""The OTel modes under the real runtime interface client (awslambdaric) and a local Runtime API."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from lambda_observe.testing import collector
from tests.functional.otlp_helpers import attributes, decode_datagram
from tests.integration.runtime_api import RuntimeAPI
from tests.integration.test_runtime import json_lines, start_runtime

APP = """
import os
from lambda_observe import get_logger, subsegment, traced

if os.environ.get("LAMBDA_OBSERVE_TRACER") == "otel":  # the user's own SDK set-up, exporting as ADOT does
    from amazon.opentelemetry.distro.otlp_udp_exporter import OTLPUdpSpanExporter
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPUdpSpanExporter(os.environ["AWS_XRAY_DAEMON_ADDRESS"])))
    trace.set_tracer_provider(provider)

log = get_logger("app")

@traced(service="rt")
def handler(event, context):
    with subsegment("work"):
        if event.get("fail"):
            raise ValueError("bad order " + str(event["n"]))
    log.info("handled", extra={"n": event["n"]})
    return {"n": event["n"]}
"""


def run(tmp: Path, tracer: str, events: list[dict[str, Any]]) -> tuple[list[Any], str, str, list[Any]]:
    with RuntimeAPI() as api, collector() as udp:
        proc = start_runtime(tmp, api, udp.address, "app.handler", {"LAMBDA_OBSERVE_TRACER": tracer})
        invs = []
        try:
            for event in events:
                inv = api.invoke(event)
                finished = inv.done.wait(30) or api.init_failed.is_set()
                invs.append(inv)
                if not finished:
                    break
            time.sleep(0.3)
        finally:
            proc.kill()
            out, err = proc.communicate(timeout=10)
        spans = []
        for data in list(udp.datagrams):
            _, request = decode_datagram(data)
            for rs in request.resource_spans:
                for ss in rs.scope_spans:
                    spans.extend(ss.spans)
    return invs, out, err, spans


@pytest.mark.parametrize("tracer", ["otlp", "otel"])
def test_otel_modes_under_awslambdaric(tmp_path, tracer):
    """Per invocation: the handler span continues the runtime's trace header, coldstart true then false,
    errors reported to the runtime unchanged and marked ERROR, log lines carry the OTel ids."""
    (tmp_path / "app.py").write_text(APP)
    invs, out, err, spans = run(tmp_path, tracer, [{"n": 1}, {"n": 2}, {"n": 3, "fail": True}])
    assert [i.response for i in invs[:2]] == [{"n": 1}, {"n": 2}], err
    assert invs[2].error is not None and invs[2].error["errorType"] == "ValueError"
    tops = {s.trace_id.hex(): s for s in spans if s.name == "## handler"}
    for i, inv in enumerate(invs):
        top = tops[inv.trace_root[2:10] + inv.trace_root[11:]]
        assert top.parent_span_id.hex() == inv.parent
        attrs = attributes(top.attributes)
        assert attrs["faas.invocation_id"] == inv.request_id
        assert attrs["faas.coldstart"] is (i == 0)
        assert top.status.code == (2 if i == 2 else 0)
    works = [s for s in spans if s.name == "work"]
    assert len(works) == 3
    assert {w.parent_span_id for w in works} == {t.span_id for t in tops.values()}
    handled = [x for x in json_lines(out) if x.get("message") == "handled"]
    assert len(handled) == 2
    for line, inv in zip(handled, invs[:2], strict=True):
        top = tops[inv.trace_root[2:10] + inv.trace_root[11:]]
        assert line["trace_id"] == top.trace_id.hex() and line["span_id"] == top.span_id.hex()
