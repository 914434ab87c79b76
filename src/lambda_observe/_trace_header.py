"""Parsing the X-Ray trace header (``Root=1-...;Parent=...;Sampled=1``).

The decisions follow the X-Ray SDK for Python under Lambda (aws-xray-sdk 2.15.0):

- ``aws_xray_sdk/core/lambda_launcher.py``, ``LambdaContext._initialize_context``: when the
  header has no ``Root``, no ``Parent`` or no ``Sampled`` decision, the SDK makes a
  ``DummySegment``: nothing of the invocation is sent. So a missing ``Parent`` is not traced
  (an invented parent id would orphan every subsegment), and neither is a missing ``Sampled``.
- ``aws_xray_sdk/core/models/trace_header.py``, ``TraceHeader.__init__``: ``Sampled`` is ``1``
  (sampled), ``0`` (not sampled), ``?`` (not decided) or, for anything else, absent. Under
  Lambda, ``?`` gives a ``FacadeSegment`` with ``sampled=None``, and
  ``AWSXRayRecorder._begin_subsegment_helper`` (``core/recorder.py``) then makes only
  ``DummySubsegment``s: not sampled. Only ``Sampled=1`` is traced.
- ``TraceHeader.from_header_str``: fields are split on ``;``, keys are case-sensitive, and a
  repeated key keeps its last value. Unlike the SDK, spaces (and line breaks) around fields and
  around ``=`` are tolerated (``Root=...; Parent=...``), and the root and parent must have X-Ray's
  shape.
- Where the SDK fails on a header rather than deciding, this module decides from the fields it
  can read: a trailing ``;``, an empty field or a field without ``=`` (the SDK's parse raises
  ``IndexError`` and it traces nothing) are skipped. ``Sampled=1=2`` is not ``Sampled=1`` here
  (the SDK keeps the text before the second ``=``): only ``Sampled=1`` is traced.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["TraceHeader", "parse"]

_ROOT = re.compile(r"1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}")
_PARENT = re.compile(r"[0-9a-fA-F]{16}")
#: The header as Lambda writes it: one match instead of the field loop (the rest, e.g. ``Lineage``,
#: is taken only when it repeats none of the three keys; otherwise the loop decides).
_USUAL = re.compile(r"Root=(1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24});Parent=([0-9a-fA-F]{16});Sampled=([^;]*)((?:;.*)?)", re.S)


class TraceHeader(NamedTuple):
    root: str
    parent: str | None
    sampled: bool


def parse(raw: str | None) -> TraceHeader | None:
    """The header's root, parent and sampling decision; ``None`` when absent or malformed.

    ``sampled`` is true only for ``Sampled=1``; ``parent`` is ``None`` when missing or malformed
    (such an invocation is not traced). A malformed header is a normal state (a hand-made test
    event, a proxy that mangled it): the invocation is then simply not traced.
    """
    if not raw or not isinstance(raw, str):
        return None
    usual = _USUAL.fullmatch(raw)
    if usual is not None:
        rest = usual[4]
        if not rest or ("Root" not in rest and "Parent" not in rest and "Sampled" not in rest):
            return TraceHeader(usual[1], usual[2], usual[3].strip() == "1")
    root = parent = sampled = None
    for part in raw.split(";"):
        key, sep, value = part.partition("=")
        if not sep:
            continue
        key = key.strip()
        if key == "Root":
            root = value.strip()
        elif key == "Parent":
            parent = value.strip()
        elif key == "Sampled":
            sampled = value.strip()
    if root is None or not _ROOT.fullmatch(root):
        return None
    if parent is not None and not _PARENT.fullmatch(parent):
        parent = None
    return TraceHeader(root, parent, sampled == "1")
