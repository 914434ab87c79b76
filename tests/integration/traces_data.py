"""Trace documents that the library produced for real invocations, moved in time for range tests."""

from __future__ import annotations

import copy
from typing import Any

from lambda_observe import annotate, subsegment, traced
from lambda_observe.testing import LambdaContext


@traced(service="shop")
def shop_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    annotate("order_id", event["order_id"])
    if "note" in event:
        annotate("note", event["note"])
    with subsegment("charge card", amount=event.get("amount", 1)):
        if event.get("fail"):
            raise RuntimeError(event.get("reason", "card declined"))
    return {"ok": True}


def invoke_traces(lambda_env: Any, events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """One trace per event: the documents as the library sent them over UDP (children nested)."""
    out = []
    for event in events:
        lambda_env.collector.clear()
        root = lambda_env.root
        try:
            shop_handler(event, LambdaContext(function_name="shop"))
        except RuntimeError:
            pass
        lambda_env.collector.settle(quiet=0.05)
        docs = [d for d in lambda_env.collector.documents if d.get("trace_id") == root]
        assert docs, "the handler sent no documents"
        out.append(docs)
        lambda_env.new_trace()
    return out


def shifted(docs: list[dict[str, Any]], seconds: int) -> list[dict[str, Any]]:
    """The same trace ``seconds`` earlier: times and the trace id's epoch moved together."""
    moved = copy.deepcopy(docs)
    old = moved[0]["trace_id"]
    version, epoch, rest = old.split("-")
    new = f"{version}-{int(epoch, 16) - seconds:08x}-{rest}"

    def walk(doc: dict[str, Any]) -> None:
        doc["trace_id"] = new
        for key in ("start_time", "end_time"):
            if key in doc:
                doc[key] -= seconds
        for child in doc.get("subsegments") or []:
            walk(child)

    for doc in moved:
        walk(doc)
    return moved
