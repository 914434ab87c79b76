"""Time ranges for trace queries: ``7d``, ``90m``, ISO timestamps, and windows of at most 6 hours."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

__all__ = ["RETENTION", "WINDOW", "check_range", "parse_time", "windows"]

WINDOW = timedelta(hours=6)  # the longest range one GetTraceSummaries call may cover
RETENTION = timedelta(days=30)  # how long X-Ray keeps a trace
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)


def parse_time(text: str, now: datetime, option: str) -> datetime:
    """``7d`` (7 days before ``now``), ``now``, or an ISO 8601 time (UTC when it names no zone)."""
    match = _RELATIVE.match(text)
    if match:
        try:
            return now - timedelta(**{_UNITS[match.group(2).lower()]: float(match.group(1))})
        except OverflowError:
            raise ValueError(
                f"{option} {text!r}: too far back to be a date; expected a duration of at most 30 days (30d)"
            ) from None
    if text.strip().lower() == "now":
        return now
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{option} {text!r}: expected a duration before now (30m, 6h, 7d, 2w) or an ISO time "
            "such as 2026-11-20T08:00:00Z"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def check_range(since: datetime, until: datetime, now: datetime) -> datetime:
    """Refuse a range X-Ray cannot answer: empty, in the future only, or reaching past 30 days.

    Returns the end to query: ``until``, or ``now`` when ``until`` is later (no trace is in the
    future, and asking for one would cost a call per 6 hours of it)."""
    if since >= until:
        raise ValueError(
            f"the range is empty: --since {since:%Y-%m-%d %H:%M:%SZ} is not before --until {until:%Y-%m-%d %H:%M:%SZ}"
        )
    if since >= now:
        raise ValueError(
            f"the range is in the future: --since {since:%Y-%m-%d %H:%M:%SZ} is after now "
            f"({now:%Y-%m-%d %H:%M:%SZ}), and X-Ray has no traces from the future"
        )
    if since < now - RETENTION - timedelta(minutes=1):
        days = (now - since) / timedelta(days=1)
        raise ValueError(
            f"the range starts {days:.1f} days ago, but X-Ray keeps traces for 30 days only, so nothing older "
            "can be found; use --since 30d or less (save traces you need longer with `traces show --save DIR`)"
        )
    return min(until, now)


def windows(since: datetime, until: datetime, size: timedelta = WINDOW) -> list[tuple[datetime, datetime]]:
    """Contiguous windows of at most ``size`` covering ``since``..``until``, newest first."""
    out: list[tuple[datetime, datetime]] = []
    end = until
    while end > since:
        start = max(end - size, since)
        out.append((start, end))
        end = start
    return out
