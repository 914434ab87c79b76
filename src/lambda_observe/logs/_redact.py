"""Kept for imports of the old location: the engine lives in :mod:`lambda_observe.redact`."""

from __future__ import annotations

from ..redact import DEFAULT_PATTERNS, REDACTED, Redactor

__all__ = ["DEFAULT_PATTERNS", "REDACTED", "Redactor"]
