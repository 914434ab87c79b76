"""Results are stored as JSON, never pickled. Dataclasses and pydantic models are supported."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import json
import uuid
from typing import Any

from .errors import ResultNotSerializableError

__all__ = ["dumps", "loads"]


def _default(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    dump = getattr(obj, "model_dump", None)  # pydantic v2
    if callable(dump):
        return dump(mode="json")
    if isinstance(obj, decimal.Decimal):
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    if isinstance(obj, (datetime.datetime, datetime.date)):
        return obj.isoformat()
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    """The result as JSON; :class:`ResultNotSerializableError` says what could not be stored."""
    try:
        return json.dumps(value, default=_default, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ResultNotSerializableError(
            f"the result cannot be stored as JSON ({exc}); return JSON types, a dataclass or a pydantic model"
        ) from exc


def loads(text: str | None, output_type: type[Any] | None = None) -> Any:
    """The stored result, rebuilt as ``output_type`` (a dataclass or pydantic model) if given."""
    value = None if text is None else json.loads(text)
    if output_type is None or value is None:
        return value
    validate = getattr(output_type, "model_validate", None)
    if callable(validate):
        return validate(value)
    if dataclasses.is_dataclass(output_type) and isinstance(value, dict):
        return output_type(**value)
    return output_type(value)
