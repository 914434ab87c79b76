"""Rendering arbitrary values as JSON without ever raising.

Used wherever a value of the user's reaches a document we emit (log lines, segment
metadata). Idempotency results use a strict serializer instead: they must round-trip.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["compact_dumps", "default", "dumps", "dumps_bytes", "safe"]

_MAX_DEPTH = 32


def default(obj: Any) -> Any:
    """A ``json.dumps`` ``default=`` hook for the types Lambda code meets."""
    import base64  # only values JSON cannot hold get here: keep these imports off the cold start
    import dataclasses
    import datetime
    import decimal
    import enum
    import uuid

    if isinstance(obj, decimal.Decimal):
        if obj.is_finite():
            return int(obj) if obj == obj.to_integral_value() else float(obj)
        return str(obj)
    if isinstance(obj, (datetime.datetime, datetime.date, datetime.time)):
        return obj.isoformat()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, (bytes, bytearray, memoryview)):
        raw = bytes(obj)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(raw).decode("ascii")
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if isinstance(obj, BaseException):
        return f"{type(obj).__name__}: {obj}"
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    dump = getattr(obj, "model_dump", None)  # pydantic v2
    if callable(dump):
        try:
            return dump(mode="json")
        except Exception:
            pass
    try:
        return repr(obj)
    except Exception:
        return f"<unrepresentable {type(obj).__name__}>"


def safe(obj: Any, _depth: int = 0, _seen: frozenset[int] = frozenset()) -> Any:
    """A copy of ``obj`` made only of JSON types: cycles, odd keys and odd values made harmless."""
    if obj is None or isinstance(obj, (str, bool)):
        return obj
    if isinstance(obj, int):
        return obj if obj.bit_length() <= 2000 or _decimal(obj) else f"<int of {obj.bit_length()} bits>"
    if isinstance(obj, float):
        return obj if obj == obj and obj not in (float("inf"), float("-inf")) else str(obj)
    if _depth >= _MAX_DEPTH:
        return "<too deep>"
    oid = id(obj)
    if oid in _seen:
        return "<circular reference>"
    seen = _seen | {oid}
    if isinstance(obj, Mapping):
        out: dict[str, Any] = {}
        try:
            items = list(obj.items())
        except Exception:
            return default(obj)
        for key, value in items:
            name = key if isinstance(key, str) else str(default(key) if not isinstance(key, (int, float)) else key)
            out[name] = safe(value, _depth + 1, seen)
        return out
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [safe(v, _depth + 1, seen) for v in obj]
    converted = default(obj)
    if converted is obj or isinstance(converted, str):
        return converted
    return safe(converted, _depth + 1, seen)


def _decimal(number: int) -> bool:
    """Can ``number`` be written in decimal (Python 3.11+ limits the digits, 4,300 by default)?"""
    try:
        str(number)
    except ValueError:
        return False
    return True


def _fast() -> Any:
    try:
        import orjson
    except ImportError:
        return None
    return orjson


def dumps_bytes(obj: Any) -> bytes:
    """Compact UTF-8 JSON for ``obj``; orjson when installed; never raises (falls back to :func:`safe`)."""
    if not _FAST:
        _FAST.append(_fast())
    fast = _FAST[0]
    if fast is not None:
        try:
            return fast.dumps(obj, default=default)  # type: ignore[no-any-return]
        except (TypeError, ValueError):
            pass  # cycles, 64-bit overflow, non-string keys: the careful path below
    return dumps(obj).encode("utf-8")


_FAST: list[Any] = []


# One encoder for every call: json.dumps with options builds a new one each time. Like orjson:
# no spaces, and characters as UTF-8, not \u escapes (issue #17: the two paths wrote different bytes).
_ENCODER = json.JSONEncoder(default=default, separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def _encodable(text: str) -> str:
    """``text`` with any lone surrogate written as its JSON escape, so it always encodes as UTF-8."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # only inside JSON strings, where \udXXX is the same character
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def dumps(obj: Any) -> str:
    """Compact JSON for ``obj``, as orjson writes it (UTF-8 characters, no spaces); never raises
    (falls back to :func:`safe`)."""
    try:
        return _encodable(_ENCODER.encode(obj))
    except (ValueError, TypeError, RecursionError):
        return _encodable(json.dumps(safe(obj), separators=(",", ":"), ensure_ascii=False))


def compact_dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` writing what orjson writes: no spaces, characters not escaped. The log
    formatter's serializer when orjson is missing (python-json-logger passes its options)."""
    kwargs["separators"] = (",", ":")
    kwargs["ensure_ascii"] = False
    kwargs.pop("indent", None)
    return json.dumps(obj, **kwargs)
