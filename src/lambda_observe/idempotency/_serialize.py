"""Results are stored as JSON, never pickled. Dataclasses and pydantic models are supported.

Replay forms: JSON types come back as they went in; a tuple as a list; a set as a sorted list
(items of mixed types grouped by type name, then ordered by repr); a date or datetime as its
ISO string; a UUID as its string; a dataclass as a dict (or as ``output_type``); a pydantic
model as its ``model_dump(mode="json")`` (or as ``output_type``).

A :class:`~decimal.Decimal` comes back as the same Decimal, special values included, and a dict
whose keys are not all strings comes back with the same keys of the same types (int, float, bool,
None, Decimal: ``{1: "a", "1": "b"}`` keeps both). Such a result is stored in a tagged form (text
starting with ``~``, which JSON never starts with) where each Decimal is ``{"~d": "<its str>"}``,
each dict with a non-str key is ``{"~m": [[key, value], ...]}``, and every other dict key that
starts with ``~`` gains one more ``~``, so no dict of yours is ever read back as either.

Anything else (bytes, NaN or infinite floats, ints over Python's 4,300-digit limit, cycles,
data nested too deeply, objects JSON does not know, dict keys of other types such as tuples or
dates) raises :class:`ResultNotSerializableError`.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import json
import uuid
from typing import Any

from .errors import ResultNotSerializableError

__all__ = ["dumps", "loads", "rebuild"]

_TAGGED = "~"
_DECIMAL = "~d"
_MAP = "~m"
_KEY_TYPES = (str, int, float, decimal.Decimal)  # bool is an int; None is checked apart


class _HasDecimal(Exception):
    """Raised from the fast path the first time a Decimal is met."""


def _convert(obj: Any) -> Any:
    """One step towards JSON for a value ``json`` does not know (never a Decimal)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    dump = getattr(obj, "model_dump", None)  # pydantic v2
    if callable(dump) and not isinstance(obj, type):
        return dump(mode="json")
    if isinstance(obj, (datetime.datetime, datetime.date)):
        return obj.isoformat()
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        try:
            return sorted(obj)
        except TypeError:  # mixed types: grouped by type name, then by repr, so the order is stable
            return sorted(obj, key=_mixed_order)
    if isinstance(obj, tuple):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def _mixed_order(item: Any) -> tuple[str, str]:
    try:
        return type(item).__name__, repr(item)
    except Exception:  # an int past the str-conversion limit; it fails to store anyway
        return type(item).__name__, ""


def _fast_default(obj: Any) -> Any:
    if isinstance(obj, decimal.Decimal):
        raise _HasDecimal
    return _convert(obj)


def _odd_keys(value: Any) -> bool:
    """Does ``value`` hold a dict with a key that is not a str (which ``json`` would turn into one)?"""
    todo, seen = [value], set()
    while todo:
        obj = todo.pop()
        if obj is None or isinstance(obj, (str, int, float)) or id(obj) in seen:  # seen: a cycle, reported later
            continue
        seen.add(id(obj))
        if isinstance(obj, dict):
            if not all(isinstance(k, str) for k in obj):
                return True
            todo.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            todo.extend(obj)
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            todo.extend(getattr(obj, f.name) for f in dataclasses.fields(obj))
    return False


def _tag_key(key: Any) -> Any:
    if key is None or isinstance(key, _KEY_TYPES):
        return _tag(key)
    raise TypeError(f"a dict key of type {type(key).__name__}; expected str, int, float, bool, None or Decimal keys")


def _tag(obj: Any) -> Any:
    """A copy of ``obj`` with Decimals and non-str-key dicts tagged, ``~`` keys escaped (see the module doc)."""
    if isinstance(obj, decimal.Decimal):
        return {_DECIMAL: str(obj)}
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            return {_MAP: [[_tag_key(k), _tag(v)] for k, v in obj.items()]}
        return {(_TAGGED + k if k.startswith(_TAGGED) else k): _tag(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_tag(v) for v in obj]
    if obj is None or isinstance(obj, (str, int, float)):
        return obj
    return _tag(_convert(obj))


def _untag(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and _DECIMAL in obj and isinstance(obj[_DECIMAL], str):
        return decimal.Decimal(obj[_DECIMAL])
    if len(obj) == 1 and _MAP in obj and isinstance(obj[_MAP], list):
        return {key: value for key, value in obj[_MAP]}
    return {(k[1:] if k.startswith(_TAGGED) else k): v for k, v in obj.items()}


#: Deeper results are refused on every Python version alike (3.13's encoder goes deeper than 3.12's).
MAX_DEPTH = 500


def _too_deep(value: Any) -> bool:
    """Is ``value`` nested more than :data:`MAX_DEPTH` containers deep? (iterative: no recursion)"""
    stack: list[tuple[Any, int]] = [(value, 0)]
    seen: set[int] = set()
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list, tuple, set, frozenset)):
            if depth >= MAX_DEPTH:
                return True
            if id(item) in seen:
                continue  # a cycle (refused by the encoder) or shared data: walked once
            seen.add(id(item))
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def dumps(value: Any) -> str:
    """The result as stored text; :class:`ResultNotSerializableError` says what could not be stored.

    Every failure takes this one path, whatever the encoder raised (TypeError, ValueError,
    OverflowError, decimal.InvalidOperation, RecursionError...).
    """
    try:
        if _too_deep(value):
            raise RecursionError(f"more than {MAX_DEPTH} levels")
        if not _odd_keys(value):
            try:
                return json.dumps(value, default=_fast_default, separators=(",", ":"), allow_nan=False)
            except _HasDecimal:
                pass
        return _TAGGED + json.dumps(_tag(value), separators=(",", ":"), allow_nan=False)
    except Exception as exc:
        reason = (
            "it is nested too deeply or refers to itself"
            if isinstance(exc, RecursionError)
            else f"{type(exc).__name__}: {exc}"
        )
        raise ResultNotSerializableError(
            f"the result cannot be stored ({reason}); expected JSON types (no NaN or infinite floats, no bytes), "
            "Decimals, dates, sets, tuples, a dataclass or a pydantic model",
            result=value,
        ) from exc


def loads(text: str | None, output_type: type[Any] | None = None) -> Any:
    """The stored result, rebuilt as ``output_type`` (a dataclass or pydantic model) if given."""
    if text is None:
        value = None
    elif text.startswith(_TAGGED):
        value = json.loads(text[1:], object_hook=_untag)
    else:
        value = json.loads(text)
    if output_type is None or value is None:
        return value
    return rebuild(value, output_type)


def rebuild(value: Any, output_type: type[Any]) -> Any:
    """``value`` (as decoded) made into ``output_type``: a pydantic model, a dataclass, or any callable type."""
    validate = getattr(output_type, "model_validate", None)
    if callable(validate):
        return validate(value)
    if dataclasses.is_dataclass(output_type) and isinstance(value, dict):
        return output_type(**value)
    return output_type(value)
