"""The timeout warning on whole decorated handlers, checked on the real UDP datagrams.

The warning sends the open subsegments as ``in_progress`` documents; the final documents of the
same ids replace them (X-Ray keeps the last document of an id), so the collector-side view, the
last document per id, tells what really happened.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from lambda_observe import subsegment, traced
from lambda_observe.testing import LambdaContext


class WarningSeen(logging.Handler):
    """Keeps the WARNINGs the library logs; sets an event when the timeout warning is logged."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.event = threading.Event()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        if "from its deadline" in record.getMessage():
            self.event.set()


@pytest.fixture
def warnings_seen():
    seen = WarningSeen()
    logger = logging.getLogger("lambda_observe")
    logger.addHandler(seen)
    try:
        yield seen
    finally:
        logger.removeHandler(seen)


def last_per_id(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What X-Ray keeps: for each id, the last document received."""
    out: dict[str, dict[str, Any]] = {}
    for doc in docs:
        out[doc["id"]] = doc
    return out


def test_handler_that_returns_inside_the_margin_is_not_a_fault(lambda_env, warnings_seen, assert_valid):
    """A handler that finishes after the warning but before the deadline: the warning sends the open
    subsegments in progress (no end, no fault); their final documents are complete, without a timeout
    cause, and are the last ones per id; closed subsegments are sent exactly once."""
    lambda_env.monkeypatch.setenv("LAMBDA_OBSERVE_TIMEOUT_WARNING_MS", "2000")

    @traced
    def handler(event, context):
        with subsegment("before"):
            pass
        with subsegment("slow"):
            assert warnings_seen.event.wait(10), "the timeout warning never fired"
        with subsegment("after"):
            pass
        return "in time"

    assert handler({}, LambdaContext(timeout_s=2.3)) == "in time"
    assert len([m for m in warnings_seen.messages if "from its deadline" in m]) == 1
    docs = lambda_env.collector.settle(quiet=0.1)
    assert_valid(docs)
    counts: dict[str, int] = {}
    for doc in docs:
        counts[doc["name"]] = counts.get(doc["name"], 0) + 1
    # open at the warning: sent in progress, then final; closed before or after: sent once
    assert counts == {"## handler": 2, "slow": 2, "before": 1, "after": 1}, counts
    progress = [d for d in docs if d.get("in_progress")]
    assert {d["name"] for d in progress} == {"## handler", "slow"}
    for doc in progress:
        assert "end_time" not in doc and not doc.get("fault") and "cause" not in doc
    final = last_per_id(docs)
    assert {d["name"] for d in final.values()} == {"## handler", "slow", "before", "after"}
    for doc in final.values():
        assert "end_time" in doc and not doc.get("in_progress"), doc
        assert not doc.get("fault") and "cause" not in doc, doc
    top = next(d for d in final.values() if d["name"] == "## handler")
    assert top["annotations"]["ColdStart"] is True
    assert top["metadata"]["test-fn"]["handler response"] == "in time"


def test_handler_that_raises_after_the_warning_keeps_its_own_cause(lambda_env, warnings_seen, assert_valid):
    """A handler that raises after the warning: the final document holds the handler's exception,
    not a timeout cause."""
    lambda_env.monkeypatch.setenv("LAMBDA_OBSERVE_TIMEOUT_WARNING_MS", "2000")

    @traced
    def handler(event, context):
        assert warnings_seen.event.wait(10), "the timeout warning never fired"
        raise KeyError("late")

    with pytest.raises(KeyError):
        handler({}, LambdaContext(timeout_s=2.3))
    docs = lambda_env.collector.settle(quiet=0.1)
    assert_valid(docs)
    final = last_per_id(docs)
    assert len(final) == 1
    (top,) = final.values()
    assert top["fault"] is True and top["cause"]["exceptions"][0]["type"] == "KeyError"


def test_overlapping_invocations_do_not_cross_wire(lambda_env, warnings_seen, assert_valid):
    """A second invocation that starts while another runs in the process (threads) gets no timeout
    alarm, is not traced under the first one's trace header, and a warning says so once; the first
    invocation keeps its alarm (the second one's end does not cancel it)."""
    lambda_env.monkeypatch.setenv("LAMBDA_OBSERVE_TIMEOUT_WARNING_MS", "2000")
    first_running = threading.Event()
    second_done = threading.Event()
    results: dict[str, Any] = {}

    @traced
    def handler(event, context):
        if event["who"] == "first":
            first_running.set()
            assert second_done.wait(10)
            with subsegment("waiting for the warning"):
                results["warned"] = warnings_seen.event.wait(10)
        else:
            with subsegment("second work"):
                pass
        return event["who"]

    def first() -> None:
        results["first"] = handler({"who": "first"}, LambdaContext(timeout_s=2.6, aws_request_id="req-first"))

    thread = threading.Thread(target=first)
    thread.start()
    assert first_running.wait(10)
    second = threading.Thread(
        target=lambda: results.__setitem__(
            "second", handler({"who": "second"}, LambdaContext(timeout_s=2.6, aws_request_id="req-second"))
        )
    )
    second.start()
    second.join(10)
    second_done.set()
    thread.join(15)
    assert results["first"] == "first" and results["second"] == "second"
    assert results["warned"], "the first invocation lost its timeout warning"
    overlap = [m for m in warnings_seen.messages if "another invocation" in m]
    assert len(overlap) == 1, warnings_seen.messages
    deadline = [m for m in warnings_seen.messages if "from its deadline" in m]
    assert len(deadline) == 1 and "req-first" in deadline[0], deadline
    docs = lambda_env.collector.settle(quiet=0.1)
    assert_valid(docs)
    names = {d["name"] for d in docs}
    assert "second work" not in names, "the overlapping invocation was traced under another one's header"
    assert "waiting for the warning" in names
