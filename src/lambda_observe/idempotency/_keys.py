"""Selecting and hashing the data that identifies a request."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .. import _json

__all__ = ["KeySelector", "digest"]


def _functions() -> Any:
    import jmespath.functions

    class Functions(jmespath.functions.Functions):  # type: ignore[misc]
        @jmespath.functions.signature({"types": ["string"]})  # type: ignore[untyped-decorator]
        def _func_from_json(self, value: str) -> Any:
            return json.loads(value)

        @jmespath.functions.signature({"types": ["string"]})  # type: ignore[untyped-decorator]
        def _func_powertools_json(self, value: str) -> Any:  # the name Powertools users know
            return json.loads(value)

    return Functions()


def _decode_body(data: Any) -> Any:
    """A view of an HTTP event whose JSON-string ``body`` is parsed (``body.order_id`` works)."""
    if isinstance(data, dict):
        body = data.get("body")
        if isinstance(body, str) and body[:1] in "{[":
            try:
                return {**data, "body": json.loads(body)}
            except ValueError:
                return data
    return data


class KeySelector:
    """A compiled JMESPath expression (``None`` selects the whole data)."""

    def __init__(self, expression: str | None, what: str = "key") -> None:
        self.expression = expression
        self._compiled: Any = None
        self._options: Any = None
        if expression is not None:
            import jmespath
            from jmespath.exceptions import JMESPathError

            if not isinstance(expression, str) or not expression.strip():
                raise ValueError(f"idempotency {what}: expected a JMESPath expression string, got {expression!r}")
            try:
                self._compiled = jmespath.compile(expression)
            except JMESPathError as exc:
                raise ValueError(f"idempotency {what} {expression!r} is not valid JMESPath: {exc}") from None
            self._options = jmespath.Options(custom_functions=_functions())

    def select(self, data: Any) -> Any:
        if self._compiled is None:
            return data
        return self._compiled.search(_decode_body(data), options=self._options)


def missing(value: Any) -> bool:
    """Did the selection find nothing (``None``, or only ``None`` values)?"""
    if value is None:
        return True
    if isinstance(value, (list, tuple)):
        return all(v is None for v in value)
    if isinstance(value, dict):
        return not value
    return False


def digest(value: Any) -> str:
    """SHA-256 of a canonical JSON rendering of ``value``."""
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json.default, ensure_ascii=False)
    except (TypeError, ValueError):  # mixed key types, cycles: hash a safe rendering instead
        text = json.dumps(_json.safe(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
