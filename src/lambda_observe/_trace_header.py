"""Parsing the X-Ray trace header (``Root=1-...;Parent=...;Sampled=1``)."""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["TraceHeader", "parse"]

_ROOT = re.compile(r"^1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}$")
_PARENT = re.compile(r"^[0-9a-fA-F]{16}$")


class TraceHeader(NamedTuple):
    root: str
    parent: str | None
    sampled: bool


def parse(raw: str | None) -> TraceHeader | None:
    """The header's root, parent and sampling decision; ``None`` when absent or malformed.

    A malformed header is a normal state (a hand-made test event, a proxy that mangled it):
    the invocation is then simply not traced.
    """
    if not raw or not isinstance(raw, str):
        return None
    root = parent = None
    sampled = True
    for part in raw.split(";"):
        if part[:5] == "Root=":
            root = part[5:]
        elif part[:7] == "Parent=":
            parent = part[7:]
        elif part[:8] == "Sampled=":
            sampled = part[8:] != "0"
        elif "=" in part and part[:1] == " ":  # tolerate "; " separators
            key, _, value = part.strip().partition("=")
            if key == "Root":
                root = value
            elif key == "Parent":
                parent = value
            elif key == "Sampled":
                sampled = value != "0"
    if root is None or not _ROOT.match(root):
        return None
    if parent is not None and not _PARENT.match(parent):
        parent = None
    return TraceHeader(root, parent, sampled)
