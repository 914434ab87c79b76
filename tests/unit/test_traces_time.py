"""Time ranges for `traces find`: relative and ISO times, the 30-day refusal, 6-hour windows."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_observe.traces._time import WINDOW, check_range, parse_time, windows
from lambda_observe.traces.table import annotation_keys

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW - timedelta(days=7)),
        ("90m", NOW - timedelta(minutes=90)),
        ("1.5h", NOW - timedelta(hours=1.5)),
        ("2w", NOW - timedelta(weeks=2)),
        ("now", NOW),
        ("2026-11-20T08:00:00Z", datetime(2026, 11, 20, 8, tzinfo=timezone.utc)),
        ("2026-11-20T08:00:00", datetime(2026, 11, 20, 8, tzinfo=timezone.utc)),
        ("2026-11-20T09:00:00+01:00", datetime(2026, 11, 20, 8, tzinfo=timezone.utc)),
    ],
)
def test_parse_time(text, expected):
    """Durations count back from now; ISO times without a zone are UTC."""
    assert parse_time(text, NOW, "--since") == expected


def test_parse_time_explains_bad_input():
    """A value that is neither a duration nor an ISO time names the option and the expected forms."""
    with pytest.raises(ValueError, match=r"--since 'yesterday': expected a duration before now \(30m"):
        parse_time("yesterday", NOW, "--since")


def test_ranges_past_retention_or_empty_are_refused():
    """31 days back is refused with the reason; 30 days is fine; an empty range is refused."""
    check_range(NOW - timedelta(days=30), NOW, NOW)
    with pytest.raises(ValueError, match="X-Ray keeps traces for 30 days"):
        check_range(NOW - timedelta(days=31), NOW, NOW)
    with pytest.raises(ValueError, match="the range is empty"):
        check_range(NOW, NOW - timedelta(hours=1), NOW)


@settings(max_examples=200, deadline=None)
@given(
    start=st.integers(min_value=0, max_value=30 * 24 * 3600),
    length=st.integers(min_value=1, max_value=30 * 24 * 3600),
)
def test_windows_cover_the_range_in_six_hour_steps(start, length):
    """Windows touch end to end, newest first, each at most 6 hours, exactly covering the range."""
    since = NOW - timedelta(seconds=start + length)
    until = NOW - timedelta(seconds=start)
    got = windows(since, until)
    assert got[0][1] == until and got[-1][0] == since
    assert all(a < b and b - a <= WINDOW for a, b in got)
    assert all(older[1] == newer[0] for newer, older in itertools.pairwise(got))
    assert len(got) == -(-length // int(WINDOW.total_seconds()))


def test_annotation_keys_in_a_filter():
    """The keys a filter names, in both spellings, once each."""
    expr = 'annotation.order_id = "42" AND annotation[tenant] = "a" OR annotation.order_id = "43" AND fault'
    assert annotation_keys(expr) == ["order_id", "tenant"]
    assert annotation_keys("responsetime > 5") == []
