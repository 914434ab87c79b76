"""An idempotency record and its states."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["COMPLETED", "IN_PROGRESS", "Record"]

IN_PROGRESS = "INPROGRESS"
COMPLETED = "COMPLETED"


@dataclass
class Record:
    """One key's state. Times are epoch seconds (floats)."""

    key: str
    status: str
    expiry: float
    in_progress_expiry: float
    payload_hash: str | None = None
    result: str | None = None
    attempt: str = ""

    def live(self, now: float) -> bool:
        """Does this record still stand (block or answer a duplicate) at ``now``?"""
        if self.expiry < now:
            return False
        return not (self.status == IN_PROGRESS and self.in_progress_expiry < now)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "expiry": self.expiry,
            "ipexp": self.in_progress_expiry,
            "hash": self.payload_hash,
            "result": self.result,
            "attempt": self.attempt,
        }

    @classmethod
    def from_json(cls, key: str, data: dict[str, Any]) -> Record:
        return cls(
            key=key,
            status=str(data["status"]),
            expiry=float(data["expiry"]),
            in_progress_expiry=float(data["ipexp"]),
            payload_hash=data.get("hash"),
            result=data.get("result"),
            attempt=str(data.get("attempt") or ""),
        )
