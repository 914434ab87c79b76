"""The trace entities: the Lambda segment we hang off (:class:`Root`) and :class:`Span`.

Both expose the attributes the X-Ray SDK's patchers read from a parent entity
(``id``, ``trace_id``, ``sampled``, ``type``, ``parent_segment``), so SDK-made subsegments
can nest under ours without the SDK's own context machinery.
"""

from __future__ import annotations

import os
import random
import time
import traceback
from types import TracebackType
from typing import Any

__all__ = ["Root", "Span", "new_id", "reseed"]

_MAX_FRAMES = 30
#: Our own generator for entity ids: a user's ``random.seed(...)`` never makes ids repeat.
_RNG = random.Random()
_bits = _RNG.getrandbits


def reseed() -> None:
    """Draw a fresh seed from the OS. After ``fork()`` this happens by itself; after a SnapStart
    restore (every restored environment starts from the same memory image) it must be called."""
    _RNG.seed()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=reseed)


def new_id() -> str:
    """A random 16-hex-digit entity id (unique, not secret: no system call per id)."""
    return f"{_bits(64):016x}"


_NAMES: dict[str, str] = {}
_NAME_ASCII = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _.:/%&#=+-@")
#: The ASCII characters the schema's name pattern refuses, each to ``_`` (a test checks it against the pattern).
_ASCII_NAME = {c: "_" for c in range(128) if chr(c) not in _NAME_ASCII}


def clean_name(name: object) -> str:
    """A subsegment name that fits X-Ray's name pattern (1-200 of the characters the schema allows,
    :mod:`._xray_names`; any other character becomes ``_``); memoized."""
    text = name if isinstance(name, str) else str(name)
    cleaned = _NAMES.get(text)
    if cleaned is None:
        head = text[:200]
        if head.isascii():  # the usual name: no need for the schema's whole character class
            cleaned = head.translate(_ASCII_NAME) or "unnamed"
        else:
            from ._xray_names import bad_characters

            cleaned = bad_characters().sub("_", head) or "unnamed"
        if len(_NAMES) < 4096:  # names are few in practice; do not grow without bound
            _NAMES[text] = cleaned
    return cleaned


class Root:
    """The Lambda function's segment, made by the Lambda service: the parent we attach to.

    It is never sent; it also tracks the invocation's open entities (for the timeout warning)
    and the exceptions already described in this invocation (``causes``: ``id(exc)`` to the
    exception, kept alive so its id cannot be reused, and its X-Ray exception id). The user's
    exception object itself is never touched.
    """

    __slots__ = ("causes", "id", "open", "sampled", "trace_id")
    type = "segment"
    in_progress = True

    def __init__(self, trace_id: str, parent_id: str, sampled: bool = True) -> None:
        self.trace_id = trace_id
        self.id = parent_id
        self.sampled = sampled
        self.open: dict[str, Any] = {}
        self.causes: dict[int, tuple[BaseException, str]] = {}

    # The methods below are what the X-Ray SDK's Subsegment calls on its parent segment.
    def get_origin_trace_header(self) -> None:
        return None

    def save_origin_trace_header(self, header: object) -> None:
        return None

    def increment(self) -> None:
        return None

    def decrement_ref_counter(self) -> None:
        return None

    def decrement_subsegments_size(self) -> None:
        return None

    def add_subsegment(self, subsegment: object) -> None:
        return None


class Span:
    """One subsegment: a block of code, a function call, the handler itself."""

    __slots__ = (
        "annotations",
        "aws",
        "cause",
        "children",
        "end_time",
        "error",
        "fault",
        "http",
        "id",
        "metadata",
        "name",
        "namespace",
        "parent",
        "parent_id",
        "parent_segment",
        "sql",
        "start_time",
        "throttle",
        "trace_id",
    )
    type = "subsegment"
    sampled = True

    def __init__(self, name: str, parent: Any, root: Root, namespace: str | None = None) -> None:
        self.id = f"{_bits(64):016x}"  # new_id(), inlined: two per invocation at least
        self.name = (type(name) is str and _NAMES.get(name)) or clean_name(name)
        self.trace_id = root.trace_id
        self.parent_id: str = parent.id
        self.parent = parent
        self.parent_segment = root
        self.children: list[dict[str, Any]] | None = None
        self.start_time = time.time()
        self.end_time: float | None = None
        self.namespace = namespace
        self.annotations: dict[str, Any] = {}
        self.metadata: dict[str, dict[str, Any]] = {}
        self.http: dict[str, Any] | None = None
        self.aws: dict[str, Any] | None = None
        self.sql: dict[str, Any] | None = None
        self.cause: dict[str, Any] | str | None = None
        self.fault = self.error = self.throttle = False

    @property
    def in_progress(self) -> bool:
        return self.end_time is None

    def close(self, end_time: float | None = None) -> None:
        self.end_time = end_time or time.time()

    def record_exception(self, exc: BaseException, tb: TracebackType | None = None) -> None:
        """Mark fault and describe ``exc`` as the cause (by reference if a span of this invocation
        already did: the bookkeeping lives in the invocation's :class:`Root`, never on ``exc``)."""
        self.fault = True
        causes: dict[int, tuple[BaseException, str]] | None = getattr(self.parent_segment, "causes", None)
        if causes is not None:
            seen = causes.get(id(exc))
            if seen is not None and seen[0] is exc:
                self.cause = seen[1]
                return
        cause = describe(exc, tb or exc.__traceback__)
        self.cause = cause
        if causes is not None:
            causes[id(exc)] = (exc, cause["exceptions"][0]["id"])

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": self.name,
            "id": self.id,
            "start_time": self.start_time,
            "trace_id": self.trace_id,
            "parent_id": self.parent_id,
            "type": "subsegment",
        }
        if self.end_time is None:
            doc["in_progress"] = True
        else:
            doc["end_time"] = self.end_time
        if self.namespace:
            doc["namespace"] = self.namespace
        if self.fault:
            doc["fault"] = True
        if self.error:
            doc["error"] = True
        if self.throttle:
            doc["throttle"] = True
        if self.cause:
            doc["cause"] = self.cause
        if self.annotations:
            doc["annotations"] = self.annotations
        if self.metadata:
            doc["metadata"] = self.metadata
        if self.http:
            doc["http"] = self.http
        if self.aws:
            doc["aws"] = self.aws
        if self.sql:
            doc["sql"] = self.sql
        if self.children:
            doc["subsegments"] = list(self.children)
        return doc


_CWD: list[str] = []


def describe(exc: BaseException, tb: TracebackType | None) -> dict[str, Any]:
    """An X-Ray ``cause`` object for ``exc``: type, message and stack, innermost frame first."""
    if not _CWD:
        try:
            _CWD.append(os.getcwd())
        except OSError:
            _CWD.append("")
    frames = traceback.extract_tb(tb)[-_MAX_FRAMES:] if tb is not None else []
    stack = [{"path": f.filename, "line": f.lineno or 0, "label": f.name} for f in reversed(frames)]
    entry: dict[str, Any] = {
        "id": new_id(),
        "type": type(exc).__name__,
        "message": _message(exc),
        "remote": False,
        "stack": stack,
    }
    return {"working_directory": _CWD[0], "exceptions": [entry]}


def _message(exc: BaseException) -> str:
    """The exception's text, secrets hidden (:mod:`lambda_observe.redact`), cut to 4 KiB."""
    from .. import redact

    try:
        text = str(exc)
    except Exception:
        return f"<unprintable {type(exc).__name__}>"
    return redact.get().error_text(exc, text[:8192])[:4096]
