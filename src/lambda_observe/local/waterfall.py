"""Rendering a trace as an indented waterfall for the terminal.

The text is made safe for a terminal here, in one place: every control character other than a
newline (ESC, BEL, carriage return...) becomes ``?``, so a name, annotation or exception message
cannot clear the screen or retitle the window. ``invoke`` and ``traces show`` both print through it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["printable", "render"]


def printable(text: str) -> str:
    """``text`` with every control character except the newline replaced by ``?``."""
    return "".join(c if c == "\n" or c.isprintable() else "?" for c in text)


def _exception_text(exc: Any) -> str:
    if not isinstance(exc, dict):
        return str(exc)
    return f"{exc.get('type')}: {exc.get('message')}"


def _cause_text(doc: dict[str, Any], by_exception: dict[str, Any]) -> str | None:
    cause = doc.get("cause")
    if isinstance(cause, str):
        exc = by_exception.get(cause)
        return _exception_text(exc) if exc else f"(see exception {cause})"
    if isinstance(cause, dict):
        excs = cause.get("exceptions")
        if isinstance(excs, list) and excs:
            return _exception_text(excs[0])
    return None


def _exceptions(docs: list[dict[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for doc in docs:
        cause = doc.get("cause")
        excs = cause.get("exceptions") if isinstance(cause, dict) else None
        for exc in excs if isinstance(excs, list) else []:
            if isinstance(exc, dict) and isinstance(exc.get("id"), str):
                found[exc["id"]] = exc
    return found


def render(documents: list[dict[str, Any]], width: int = 30) -> str:
    """One line per subsegment, children indented under parents, with duration and a bar.

    Tolerant of any document: names are stringified, a missing end is shown as in progress, a bad
    or missing time, a negative duration and a ``parent_id`` cycle are marked on the line."""
    return printable(_render(documents, width))


def _render(documents: list[dict[str, Any]], width: int) -> str:
    if not documents:
        return "(no trace documents were received)"
    from .tree import entities, timing, walk_marked

    docs = entities(documents)
    if not docs:
        return "(no trace documents were received)"
    by_exception = _exceptions(docs)
    times = {d["id"]: timing(d) for d in docs}
    starts = [t.start for t in times.values() if t.start is not None]
    ends = [v for t in times.values() for v in (t.start, t.end) if v is not None]
    start = min(starts) if starts else 0.0
    span = max((max(ends) - start) if ends else 0.0, 1e-9)
    trace_ids = sorted({str(d.get("trace_id", "?")) for d in docs})
    lines = [f"trace {', '.join(trace_ids)}  ({len(docs)} entities)"]

    for depth, doc, mark in walk_marked(docs):
        t = times[doc["id"]]
        duration = t.ms
        if t.start is None:
            bar = "?"
        else:
            offset = min(int((t.start - start) / span * width), width - 1)
            length = max(int(duration / 1000 / span * width), 1)
            bar = " " * offset + "#" * min(length, width - offset)
        flags = [f for f in ("fault", "error", "throttle") if doc.get(f)]
        flags += [n for n in t.notes if n in ("in progress",)]
        label = "  " * depth + str(doc.get("name", "?"))
        shown = "        -" if t.start is None or t.end is None else f"{duration:9.2f}"
        line = f"{label:<44} {shown} ms  |{bar:<{width}}|"
        if flags:
            line += "  " + ",".join(flags).upper()
        lines.append(line)
        pad = "  " * depth + "    "
        notes = [n for n in t.notes if n != "in progress"] + ([mark] if mark else [])
        if notes:
            lines.append(pad + "! " + "; ".join(notes))
        annotations = doc.get("annotations")
        if isinstance(annotations, dict) and annotations:
            lines.append(pad + "annotations: " + ", ".join(f"{k}={v!r}" for k, v in annotations.items()))
        for key in ("aws", "http", "sql"):
            meta = doc.get(key)
            if isinstance(meta, dict) and meta:
                summary = {k: v for k, v in meta.items() if isinstance(v, (str, int, float, bool))}
                for sub in meta.values():
                    if isinstance(sub, dict):
                        summary.update({k: v for k, v in sub.items() if isinstance(v, (str, int, float))})
                lines.append(pad + f"{key}: " + ", ".join(f"{k}={v}" for k, v in summary.items()))
        cause = _cause_text(doc, by_exception)
        if cause:
            lines.append(pad + "cause: " + cause)
    return "\n".join(lines)
