"""Rendering a trace as an indented waterfall for the terminal."""

from __future__ import annotations

from typing import Any

__all__ = ["render"]


def _cause_text(doc: dict[str, Any], by_exception: dict[str, dict[str, Any]]) -> str | None:
    cause = doc.get("cause")
    if isinstance(cause, str):
        exc = by_exception.get(cause)
        return f"{exc.get('type')}: {exc.get('message')}" if exc else f"(see exception {cause})"
    if isinstance(cause, dict):
        excs = cause.get("exceptions") or []
        if excs:
            return f"{excs[0].get('type')}: {excs[0].get('message')}"
    return None


def render(documents: list[dict[str, Any]], width: int = 30) -> str:
    """One line per subsegment, children indented under parents, with duration and a bar."""
    if not documents:
        return "(no trace documents were received)"
    from .tree import entities, walk

    docs = entities(documents)
    if not docs:
        return "(no trace documents were received)"
    by_exception = {
        e["id"]: e
        for d in docs
        if isinstance(d.get("cause"), dict)
        for e in d["cause"].get("exceptions", [])
        if isinstance(e, dict) and "id" in e
    }
    start = min(d["start_time"] for d in docs)
    end = max(d.get("end_time", d["start_time"]) for d in docs)
    span = max(end - start, 1e-9)
    trace_ids = sorted({d.get("trace_id", "?") for d in docs})
    lines = [f"trace {', '.join(trace_ids)}"]

    for depth, doc in walk(docs):
        duration = (doc.get("end_time", doc["start_time"]) - doc["start_time"]) * 1000
        offset = int((doc["start_time"] - start) / span * width)
        length = max(int(duration / 1000 / span * width), 1)
        bar = " " * offset + "#" * min(length, width - offset if width > offset else 1)
        flags = [f for f in ("fault", "error", "throttle") if doc.get(f)]
        label = "  " * depth + doc["name"]
        line = f"{label:<44} {duration:9.2f} ms  |{bar:<{width}}|"
        if flags:
            line += "  " + ",".join(flags).upper()
        lines.append(line)
        pad = "  " * depth + "    "
        annotations = doc.get("annotations") or {}
        if annotations:
            lines.append(pad + "annotations: " + ", ".join(f"{k}={v!r}" for k, v in annotations.items()))
        for key in ("aws", "http", "sql"):
            meta = doc.get(key)
            if meta:
                summary = {k: v for k, v in meta.items() if isinstance(v, (str, int, float, bool))}
                nested = {k: v for k, v in meta.items() if isinstance(v, dict)}
                for sub in nested.values():
                    summary.update({k: v for k, v in sub.items() if isinstance(v, (str, int, float))})
                lines.append(pad + f"{key}: " + ", ".join(f"{k}={v}" for k, v in summary.items()))
        cause = _cause_text(doc, by_exception)
        if cause:
            lines.append(pad + "cause: " + cause)
    return "\n".join(lines)
