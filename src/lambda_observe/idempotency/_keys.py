"""Selecting and hashing the data that identifies a request.

A key expression is JMESPath with the decoding functions Powertools users know
(``powertools_json``, ``powertools_base64``, ``powertools_base64_gzip``) plus ``from_json``.
An expression that calls one of them runs on the event exactly as delivered, as Powertools
runs it; an expression that calls none of them sees a JSON-string ``body`` already parsed,
so ``body.order_id`` works on API Gateway events.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from .errors import KeyExpressionError

__all__ = ["DECODERS", "KeySelector", "as_data", "digest", "no_key"]

#: The functions that decode a string; an expression that uses one sees the raw event.
DECODERS = ("from_json", "powertools_base64", "powertools_base64_gzip", "powertools_json")


def _functions() -> Any:
    import jmespath.functions

    class Functions(jmespath.functions.Functions):  # type: ignore[misc]
        @jmespath.functions.signature({"types": ["string"]})  # type: ignore[untyped-decorator]
        def _func_from_json(self, value: str) -> Any:
            return json.loads(value)

        @jmespath.functions.signature({"types": ["string"]})  # type: ignore[untyped-decorator]
        def _func_powertools_json(self, value: str) -> Any:
            return json.loads(value)

        @jmespath.functions.signature({"types": ["string"]})  # type: ignore[untyped-decorator]
        def _func_powertools_base64(self, value: str) -> str:
            import base64

            return base64.b64decode(value).decode("utf-8")  # as Powertools decodes; binascii.Error is a ValueError

        @jmespath.functions.signature({"types": ["string"]})  # type: ignore[untyped-decorator]
        def _func_powertools_base64_gzip(self, value: str) -> str:
            import base64
            import gzip
            import zlib

            try:
                return gzip.decompress(base64.b64decode(value)).decode("utf-8")
            except (OSError, EOFError, zlib.error) as exc:  # not gzip data, or cut short
                raise ValueError(f"not gzip data: {type(exc).__name__}") from None

    return Functions()


def _calls(node: Any) -> Iterator[tuple[str, int]]:
    """Every function call in a parsed JMESPath tree: (name, number of arguments)."""
    if isinstance(node, dict):
        if node.get("type") == "function_expression":
            yield str(node.get("value")), len(node.get("children", ()))
        for child in node.get("children", ()):
            yield from _calls(child)
    elif isinstance(node, list):
        for child in node:
            yield from _calls(child)


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
        self.what = what
        self._compiled: Any = None
        self._options: Any = None
        self._raw = False
        if expression is not None:
            import jmespath
            from jmespath.exceptions import JMESPathError

            if not isinstance(expression, str) or not expression.strip():
                raise KeyExpressionError(
                    f"idempotency {what}: expected a JMESPath expression string, got {expression!r}"
                )
            try:
                self._compiled = jmespath.compile(expression)
            except JMESPathError as exc:
                raise KeyExpressionError(f"idempotency {what} {expression!r} is not valid JMESPath: {exc}") from None
            functions = _functions()
            table = functions.FUNCTION_TABLE
            for name, count in _calls(self._compiled.parsed):
                spec = table.get(name)
                if spec is None:
                    raise KeyExpressionError(
                        f"idempotency {what} {expression!r} calls an unknown function {name}(); "
                        f"known: {', '.join(sorted(table))}"
                    )
                arity = len(spec["signature"])
                variadic = any(arg.get("variadic") for arg in spec["signature"])
                if count < arity or (count > arity and not variadic):
                    raise KeyExpressionError(
                        f"idempotency {what} {expression!r}: {name}() takes {arity} argument(s), got {count}"
                    )
                self._raw = self._raw or name in DECODERS
            self._options = jmespath.Options(custom_functions=functions)

    def select(self, data: Any) -> Any:
        """The selected data; :class:`KeyExpressionError` if the expression fails on ``data``."""
        if self._compiled is None:
            return data
        from jmespath.exceptions import JMESPathError

        view = data if self._raw else _decode_body(data)
        try:
            return self._compiled.search(view, options=self._options)
        except (JMESPathError, ValueError, TypeError) as exc:  # bad JSON, base64, UTF-8 or gzip: ValueError
            raise KeyExpressionError(
                f"idempotency {self.what} {self.expression!r} could not be evaluated on this event "
                f"({type(exc).__name__}); expected the data it names to be there and well formed"
            ) from None


def no_key(value: Any) -> bool:
    """Is the selection *no key*: ``None``, ``""``, or a list/dict holding only no-key values?

    ``{o: order_id, c: customer}`` on an event without either gives ``{"o": None, "c": None}``:
    that is no key, not a key shared by every such event. ``0`` and ``False`` are keys.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if item is None or (isinstance(item, str) and item == ""):
            continue
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            return False
    return True


def as_data(value: Any) -> Any:
    """Arguments as JMESPath sees them: dataclasses and pydantic models become dicts, a tuple a list."""
    import dataclasses

    if type(value) is tuple:
        return list(value)

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return dump(mode="json")
    return value


_NATIVE = (str, bool, int, float, type(None))


def _plain(value: Any) -> bool:
    """Only JSON types (str-keyed dicts, lists, str, int, float, bool, None), no cycles, not too deep."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > 200:
            return False
        if isinstance(item, dict) and type(item) is dict:
            if not all(isinstance(k, str) for k in item):
                return False
            stack.extend((v, depth + 1) for v in item.values())
        elif type(item) is list:
            stack.extend((v, depth + 1) for v in item)
        elif type(item) not in _NATIVE:
            return False
    return True


def _tagged(value: Any, out: list[str], seen: set[int]) -> None:
    """An injective rendering of any value: each node says its type, containers their length."""
    if value is None or isinstance(value, bool):
        out.append(f"{type(value).__name__}:{value!r};")
    elif isinstance(value, int):
        out.append(f"{type(value).__qualname__}:{value:x};")  # hex: no digit limit
    elif isinstance(value, float):
        out.append(f"float:{value.hex()};")
    elif isinstance(value, str):
        out.append(f"str:{len(value)}:{value};")
    elif isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        out.append(f"{type(value).__name__}:{len(raw)}:{raw.hex()};")
    else:
        if id(value) in seen:
            raise KeyExpressionError("the idempotency key data refers to itself (a cycle); expected plain data")
        seen.add(id(value))
        if isinstance(value, dict):
            items = sorted(((_render(k), v) for k, v in value.items()), key=lambda kv: kv[0])
            out.append(f"{type(value).__qualname__}:{len(items)}:")
            for k, v in items:
                out.append(f"{len(k)}:{k}")
                _tagged(v, out, seen)
        elif isinstance(value, (list, tuple)):
            out.append(f"{type(value).__qualname__}:{len(value)}:")
            for v in value:
                _tagged(v, out, seen)
        elif isinstance(value, (set, frozenset)):
            parts = sorted(_render(v) for v in value)
            out.append(f"{type(value).__qualname__}:{len(parts)}:" + "".join(f"{len(p)}:{p}" for p in parts))
        else:
            converted = as_data(value)
            out.append(f"{type(value).__module__}.{type(value).__qualname__}:")
            if converted is value:
                text = repr(value)
                out.append(f"{len(text)}:{text};")
            else:
                _tagged(converted, out, seen)
        seen.discard(id(value))
    out.append(")")


def _render(value: Any) -> str:
    out: list[str] = []
    _tagged(value, out, set())
    return "".join(out)


def digest(value: Any) -> str:
    """SHA-256 of a rendering of ``value`` that differs whenever the data differs.

    JSON data (what events are made of) is hashed as canonical JSON, as before; anything else
    (bytes, tuples, sets, non-string keys, very large ints, deep or cyclic data) through a typed
    rendering that starts with a byte JSON never starts with, so the two never meet.
    """
    if _plain(value):
        try:
            text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        except (ValueError, RecursionError):  # ints past the str-conversion limit
            pass
    try:
        text = "\x00" + _render(value)
    except RecursionError:
        raise KeyExpressionError("the idempotency key data is nested too deeply to hash; expected plain data") from None
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
