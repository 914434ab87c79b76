"""A trace's entities as a tree: the one ordering the terminal waterfall and the HTML page share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .collector import flatten

__all__ = ["entities", "status", "walk"]


def entities(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every segment and subsegment once, flat; the last document sent for an id wins
    (a timeout's in-progress document, then the real end)."""
    latest: dict[str, dict[str, Any]] = {}
    for doc in flatten(documents):
        if isinstance(doc.get("id"), str) and isinstance(doc.get("start_time"), (int, float)):
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


def walk(docs: list[dict[str, Any]]) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(depth, entity)`` in tree order: roots first (an entity whose parent is absent is a root),
    children under their parent, siblings by start time."""
    ids = {d["id"] for d in docs}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for doc in docs:
        parent = doc.get("parent_id") if doc.get("parent_id") in ids else None
        children.setdefault(parent, []).append(doc)
    for group in children.values():
        group.sort(key=lambda d: d["start_time"])
    stack: list[tuple[int, dict[str, Any]]] = [(0, d) for d in reversed(children.get(None, []))]
    seen: set[str] = set()
    while stack:
        depth, doc = stack.pop()
        if doc["id"] in seen:  # a cycle of parent ids in a hostile document
            continue
        seen.add(doc["id"])
        yield depth, doc
        stack.extend((depth + 1, c) for c in reversed(children.get(doc["id"], [])))
