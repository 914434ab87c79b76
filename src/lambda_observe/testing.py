"""Helpers for testing your own handlers: a Lambda context, captured segments, a memory store.

As pytest fixtures::

    import pytest
    from lambda_observe import testing

    @pytest.fixture
    def segments(monkeypatch):
        with testing.collector() as c:
            monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", c.address)
            monkeypatch.setenv("_X_AMZN_TRACE_ID", testing.trace_header())
            testing.reset()
            yield c

    def test_handler(segments):
        handler({}, testing.LambdaContext())
        names = [d["name"] for d in segments.settle()]
"""

from __future__ import annotations

import time
import uuid

from .idempotency.stores.memory import InMemoryStore
from .local.collector import Collector, parse_datagram
from .local.context import LambdaContext

__all__ = [
    "Collector",
    "InMemoryStore",
    "LambdaContext",
    "collector",
    "dropped_documents",
    "parse_datagram",
    "reset",
    "trace_header",
]


def collector() -> Collector:
    """A UDP collector on a free loopback port; use it as a context manager."""
    return Collector()


def trace_header(sampled: bool = True) -> str:
    """A fresh ``_X_AMZN_TRACE_ID`` value, as Lambda sets for each invocation."""
    root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    return f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled={1 if sampled else 0}"


def reset() -> None:
    """Forget configuration, backend and cold-start state (after changing the environment)."""
    from . import _invocation, config, redact
    from .tracing import _state

    config.reset()
    _state.reset()
    _invocation.reset_process()
    redact.reset()
    import sys

    for module, cache in (
        ("lambda_observe.tracing._otel_map", "_STATIC"),
        ("lambda_observe.tracing.otlp", "_HANDLER_STATIC"),
    ):
        loaded = sys.modules.get(module)
        if loaded is not None:  # the OTel modes' per-process attributes (function name, version, region)
            getattr(loaded, cache).clear()


def dropped_documents() -> int:
    """Trace documents this process could not send to the daemon (0 when tracing sends over no UDP).

    Each invocation that had drops logs one WARNING at its end, with the datagrams and subsegments lost.
    """
    from .tracing import _state

    emitter = getattr(_state.backend(), "emitter", None)
    return int(getattr(emitter, "dropped", 0))
