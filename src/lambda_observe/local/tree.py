"""A trace's entities as a tree: the one ordering the terminal waterfall and the HTML page share.

Documents come from files and other tools as well as from this library, so nothing here trusts a
field's type: a time that is not a finite number of seconds between 1970 and 2100 counts as absent
(and the entity is marked), an entity whose ``parent_id`` chain loops is shown as a root (marked),
and an entity without an id gets one. No entity is ever dropped silently.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .collector import flatten

__all__ = ["Timing", "entities", "seconds", "status", "timing", "walk", "walk_marked"]

LATEST = 4102444800.0  # 2100-01-01T00:00:00Z: a later "epoch second" is a broken clock or a unit mix-up


def seconds(value: Any) -> float | None:
    """``value`` as epoch seconds, or None when it is not a finite number between 1970 and 2100."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) and 0 <= number <= LATEST else None


@dataclass
class Timing:
    """An entity's times as the renderers use them, with what was wrong with them."""

    start: float | None
    end: float | None
    in_progress: bool
    notes: list[str] = field(default_factory=list)

    @property
    def ms(self) -> float:
        """The duration in milliseconds; 0 when unknown, in progress or negative."""
        if self.start is None or self.end is None:
            return 0.0
        return max(self.end - self.start, 0.0) * 1000


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def timing(doc: dict[str, Any]) -> Timing:
    """The start, end and problems of one entity: no or bad start, in progress, bad end, clock skew."""
    notes: list[str] = []
    raw_start = doc.get("start_time")
    start = seconds(raw_start)
    if start is None:
        notes.append("no start_time" if raw_start is None else f"bad start_time {_shown(raw_start)}")
    raw_end = doc.get("end_time")
    in_progress = doc.get("in_progress") is True or raw_end is None
    end = None if in_progress else seconds(raw_end)
    if in_progress:
        notes.append("in progress")
    elif end is None:
        notes.append(f"bad end_time {_shown(raw_end)}")
    if start is not None and end is not None and end < start:
        notes.append(f"clock skew: ends {(start - end) * 1000:.2f} ms before it starts")
    return Timing(start, end, in_progress, notes)


def entities(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every segment and subsegment once, flat; the last document sent for an id wins
    (a timeout's in-progress document, then the real end). An entity without a string id gets one."""
    latest: dict[str, dict[str, Any]] = {}
    for n, doc in enumerate(flatten(documents)):
        if not isinstance(doc.get("id"), str):
            doc = {**doc, "id": f"(no id #{n})"}
        latest[doc["id"]] = doc
    return list(latest.values())


def status(doc: dict[str, Any]) -> str:
    """``fault`` (5xx), ``throttle`` (429), ``error`` (4xx) or ``ok``, as X-Ray colours them."""
    if doc.get("fault"):
        return "fault"
    if doc.get("throttle"):
        return "throttle"
    if doc.get("error"):
        return "error"
    return "ok"


def _order(doc: dict[str, Any]) -> tuple[bool, float]:
    start = seconds(doc.get("start_time"))
    return (start is None, start or 0.0)


def walk_marked(docs: list[dict[str, Any]]) -> Iterator[tuple[int, dict[str, Any], str | None]]:
    """``(depth, entity, note)`` in tree order: roots first (an entity whose parent is absent is a root),
    children under their parent, siblings by start time (entities without a time last). Entities
    that no root reaches (their ``parent_id`` chain loops) follow as roots with a note saying so."""
    ids = {d["id"] for d in docs}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for doc in docs:
        parent = doc.get("parent_id")
        key = parent if isinstance(parent, str) and parent in ids and parent != doc["id"] else None
        children.setdefault(key, []).append(doc)
    for group in children.values():
        group.sort(key=_order)
    seen: set[str] = set()

    def from_root(root: dict[str, Any], note: str | None) -> Iterator[tuple[int, dict[str, Any], str | None]]:
        stack: list[tuple[int, dict[str, Any], str | None]] = [(0, root, note)]
        while stack:
            depth, doc, mark = stack.pop()
            if doc["id"] in seen:
                continue
            seen.add(doc["id"])
            yield depth, doc, mark
            stack.extend((depth + 1, c, None) for c in reversed(children.get(doc["id"], [])))

    for root in children.get(None, []):
        yield from from_root(root, None)
    for doc in sorted(docs, key=_order):
        if doc["id"] not in seen:
            yield from from_root(doc, "parent_id cycle: shown as a root")


def walk(docs: list[dict[str, Any]]) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(depth, entity)`` in tree order (see :func:`walk_marked`)."""
    for depth, doc, _ in walk_marked(docs):
        yield depth, doc
