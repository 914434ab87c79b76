"""The ``traces find`` table: time, duration, status, trace id, and the annotations the filter names."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from .client import Summary

__all__ = ["annotation_keys", "format_table"]

_KEY = re.compile(r"\bannotation(?:\.([A-Za-z0-9_]+)|\[\s*\"?([^\]\"]+)\"?\s*\])")


def annotation_keys(filter_expression: str | None) -> list[str]:
    """The annotation keys a filter expression names (``annotation.k`` or ``annotation[k]``), in order."""
    keys: list[str] = []
    for match in _KEY.finditer(filter_expression or ""):
        key = match.group(1) or match.group(2)
        if key not in keys:
            keys.append(key)
    return keys


def _value(item: Any) -> str:
    value = (item or {}).get("AnnotationValue") or {}
    for kind in ("StringValue", "NumberValue", "BooleanValue"):
        if kind in value:
            v = value[kind]
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            return repr(v) if kind == "StringValue" else str(v).lower() if isinstance(v, bool) else str(v)
    return "?"


def _annotations(summary: Summary, keys: list[str]) -> str:
    names = keys or sorted(summary.annotations)
    parts = []
    for key in names:
        values = summary.annotations.get(key)
        if values:
            parts.append(f"{key}=" + "|".join(sorted({_value(v) for v in values})))
    return " ".join(parts)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def _time(summary: Summary) -> str:
    when = summary.start
    if when is None:
        when = datetime.fromtimestamp(summary.sort_key, tz=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _clean(text: str) -> str:
    """No control characters from the API reach the terminal."""
    return "".join(c if c.isprintable() else "?" for c in text)


def format_table(summaries: list[Summary], filter_expression: str | None = None) -> str:
    """Aligned columns, newest first as given."""
    keys = annotation_keys(filter_expression)
    header = ("time (UTC)", "duration", "status", "trace id", "annotations" if not keys else "matched annotations")
    rows = [(_time(s), _duration(s.duration), s.status, _clean(s.id), _clean(_annotations(s, keys))) for s in summaries]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = []
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4])
    return "\n".join(line.rstrip() for line in lines)
