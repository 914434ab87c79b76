"""Redacting secrets from events before they are logged."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["DEFAULT_PATTERNS", "Redactor"]

REDACTED = "***REDACTED***"
#: Key patterns (regular expressions, matched case-insensitively anywhere in the key).
DEFAULT_PATTERNS: tuple[str, ...] = (
    r"^authorization$",
    r"^proxy-authorization$",
    r"^cookie$",
    r"^set-cookie$",
    r"^cookies$",
    r"^x-api-key$",
    r"password|passwd|pwd",
    r"secret",
    r"token",
    r"api[-_]?key",
    r"credential",
    r"private[-_]?key",
    r"signature",
)


class Redactor:
    """Replaces the values of secret-looking keys, at any depth, in a copy of the data."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        patterns = (*DEFAULT_PATTERNS, *extra)
        try:
            self._match = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE).search
        except re.error as exc:
            raise ValueError(f"redaction pattern is not a valid regular expression: {exc}") from None

    def secret(self, key: object) -> bool:
        return isinstance(key, str) and self._match(key) is not None

    def __call__(self, data: Any, _depth: int = 0) -> Any:
        if _depth > 32:
            return "<too deep>"
        if isinstance(data, dict):
            return {k: REDACTED if self.secret(k) else self(v, _depth + 1) for k, v in data.items()}
        if isinstance(data, list):
            return [self(v, _depth + 1) for v in data]
        if isinstance(data, str) and data[:1] in "{[" and len(data) < 1_000_000:
            try:  # an API Gateway body: a JSON document in a string
                parsed = json.loads(data)
            except ValueError:
                return data
            if isinstance(parsed, (dict, list)):
                return json.dumps(self(parsed, _depth + 1), separators=(",", ":"))
        return data
