"""otlp mode near the UDP limit: every span arrives whole or cut with a marker, no datagram is too large."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_observe import add_metadata, subsegment, testing, traced
from lambda_observe.testing import LambdaContext
from lambda_observe.tracing import _state
from lambda_observe.tracing.otlp import MAX_DATAGRAM, MAX_REQUEST
from tests.functional.otlp_helpers import receive, spans


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(delta=st.integers(min_value=-600, max_value=1400), child=st.booleans())
def test_spans_around_the_datagram_limit_all_arrive(lambda_env, delta, child):
    """Metadata that brings a span to within a few hundred bytes of the limit: it arrives, nothing is dropped."""
    _state.use_tracer("otlp")
    size = MAX_REQUEST - 400 - delta  # the span's other fields take about 400 bytes: spans straddle the limit
    lambda_env.collector.datagrams.clear()

    @traced(logs=False)
    def handler(event: Any, context: Any) -> str:
        if child:
            with subsegment("child"):
                add_metadata("blob", "x" * size)
        else:
            add_metadata("blob", "x" * size)
        return "ok"

    assert handler({}, LambdaContext()) == "ok"
    received = receive(lambda_env.collector, count=2 if child else 1, timeout=1.0)
    names = sorted(s.name for s in spans([r for _, r in received]))
    assert names == (["## handler", "child"] if child else ["## handler"])
    assert all(len(d) <= MAX_DATAGRAM for d in lambda_env.collector.datagrams)
    assert testing.dropped_documents() == 0


def test_a_refused_datagram_is_counted_and_warned(lambda_env, caplog):
    """A datagram the system refuses is counted in dropped_documents() and reported at WARNING."""
    import logging

    _state.use_tracer("otlp")
    emitter: Any = _state.backend().emitter  # type: ignore[attr-defined]
    with caplog.at_level(logging.WARNING, logger="lambda_observe"):
        emitter.send_datagram(b"x" * (MAX_DATAGRAM + 1))
        emitter.send_datagram(b"x" * (MAX_DATAGRAM + 1))
    assert testing.dropped_documents() == 2
    warnings = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(warnings) == 1 and "1 datagrams since the last warning, 1 in all" in warnings[0]
