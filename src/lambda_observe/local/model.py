"""What the trace page shows, computed from segment documents: waterfall rows and service-map calls."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from .tree import entities, status, timing, walk_marked

__all__ = ["build_model", "clean", "node_of"]

_WORST = {"ok": 0, "error": 1, "throttle": 2, "fault": 3}


def clean(value: Any, depth: int = 0) -> Any:
    """Plain JSON: string keys, finite numbers, nothing deeper than 64 levels."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth > 64:
        return "(nested too deep)"
    if isinstance(value, dict):
        return {str(k): clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v, depth + 1) for v in value]
    return str(value)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def node_of(doc: dict[str, Any]) -> tuple[str, str, str] | None:
    """The service-map node an entity stands for, as ``(key, kind, label)``; None for local work.

    A segment (not inferred) is a service; a subsegment calls an AWS service (``namespace: aws``), a
    SQL database (``sql``) or a remote host (``namespace: remote`` with a URL)."""
    name = _text(doc.get("name", "?"))
    if doc.get("type") != "subsegment":
        if doc.get("inferred"):
            return None
        origin = _text(doc.get("origin") or "")
        kind = "function" if origin == "AWS::Lambda::Function" else "service"
        return (f"segment:{origin}:{name}", kind, name)
    sql = doc.get("sql")
    if isinstance(sql, dict):
        label = _text(sql.get("url") or name)
        return (f"sql:{label}", "sql", label)
    if doc.get("namespace") == "aws":
        return (f"aws:{name}", "aws", name)
    if doc.get("namespace") == "remote":
        http = doc.get("http")
        request = http.get("request") if isinstance(http, dict) else None
        url = request.get("url") if isinstance(request, dict) else None
        host = urlsplit(url).hostname if isinstance(url, str) else None
        label = host or name
        return (f"remote:{label}", "remote", label)
    return None


def _annotation_text(value: Any) -> str:
    """An annotation value as the filter box compares it: ``true``, ``42``, ``1.5``, the string itself."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else _text(clean(value))


def _is_cold(doc: dict[str, Any]) -> bool:
    annotations = doc.get("annotations")
    cold = isinstance(annotations, dict) and annotations.get("ColdStart") is True
    return bool(cold or doc.get("name") == "Initialization")  # Lambda's own segment shows init as a subsegment


def _trace(docs: list[dict[str, Any]], function: str, nodes: dict[str, dict[str, str]]) -> dict[str, Any]:
    times = {d["id"]: timing(d) for d in docs}
    starts = [t.start for t in times.values() if t.start is not None]
    start = min(starts) if starts else None
    end = max((v for t in times.values() for v in (t.start, t.end) if v is not None), default=start)
    rows: list[dict[str, Any]] = []
    annotations: dict[str, list[str]] = {}
    hits: list[list[Any]] = []  # [node, ms, status]
    edges: list[list[Any]] = []  # [from node, to node, status]
    owner: dict[str, str | None] = {}  # entity id -> node key of the service it runs in
    calling: dict[str, bool] = {}  # entity id -> inside a call to a downstream node
    worst = "ok"
    fn_key = f"segment:AWS::Lambda::Function:{function}"
    has_function_segment = any(d.get("origin") == "AWS::Lambda::Function" for d in docs)
    for depth, doc, mark in walk_marked(docs):
        st = status(doc)
        worst = st if _WORST[st] > _WORST[worst] else worst
        t = times[doc["id"]]
        offset = (t.start - start) * 1000 if t.start is not None and start is not None else 0.0
        row = {k: v for k, v in doc.items() if k != "subsegments"}
        row.update(name=_text(doc.get("name", "?")), d=depth, o=offset, ms=t.ms, s=st, c=_is_cold(doc))
        notes = t.notes + ([mark] if mark else [])
        if notes:
            row["n"] = notes  # shown as markers: no time, in progress, bad end, clock skew, parent cycle
        rows.append(row)
        own = doc.get("annotations")
        for key, value in own.items() if isinstance(own, dict) else ():
            values = annotations.setdefault(str(key), [])
            text = _annotation_text(value)
            if text not in values:
                values.append(text)
        parent = doc.get("parent_id")
        parent_owner = owner.get(parent) if isinstance(parent, str) and parent in owner else None
        parent_calling = calling.get(parent, False) if isinstance(parent, str) else False
        node = node_of(doc)
        if depth == 0 and doc.get("type") == "subsegment" and not has_function_segment:
            # a trace captured locally: the function's own segment is Lambda's, not in the documents
            nodes.setdefault(fn_key, {"kind": "function", "label": function})
            hits.append([fn_key, t.ms, st])
            parent_owner = fn_key
        if node is not None and doc.get("type") != "subsegment":
            key, kind, label = node
            nodes.setdefault(key, {"kind": kind, "label": label})
            hits.append([key, t.ms, st])
            if parent_owner is not None and parent_owner != key:
                edges.append([parent_owner, key, st])
            owner[doc["id"]], calling[doc["id"]] = key, False
        elif node is not None and not parent_calling and parent_owner is not None:
            key, kind, label = node
            nodes.setdefault(key, {"kind": kind, "label": label})
            hits.append([key, t.ms, st])
            edges.append([parent_owner, key, st])
            owner[doc["id"]], calling[doc["id"]] = parent_owner, True
        else:
            owner[doc["id"]], calling[doc["id"]] = parent_owner, parent_calling
    trace_id = next((d["trace_id"] for d in docs if isinstance(d.get("trace_id"), str)), "?")
    return {
        "id": trace_id,
        "start": start,
        "ms": (end - start) * 1000 if start is not None and end is not None else 0.0,
        "s": worst,
        "cold": any(r["c"] for r in rows),
        "ann": annotations,
        "rows": rows,
        "hits": hits,
        "edges": edges,
    }


def _function_name(docs: list[dict[str, Any]]) -> str:
    for doc in docs:
        annotations = doc.get("annotations")
        if isinstance(annotations, dict) and isinstance(annotations.get("Service"), str):
            return str(annotations["Service"])
    return "function"


def build_model(documents: list[dict[str, Any]], function: str | None = None) -> dict[str, Any]:
    """Traces (newest first) with their rows, annotations, status and calls; the map's nodes."""
    by_trace: dict[str, list[dict[str, Any]]] = {}
    for doc in entities(documents):
        by_trace.setdefault(_text(doc.get("trace_id", "?")), []).append(doc)
    nodes: dict[str, dict[str, str]] = {}
    traces = [_trace(docs, function or _function_name(docs), nodes) for docs in by_trace.values()]
    traces.sort(key=lambda t: -math.inf if t["start"] is None else t["start"], reverse=True)
    return clean({"traces": traces, "nodes": nodes})  # type: ignore[no-any-return]
