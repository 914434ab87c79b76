"""Parsing _X_AMZN_TRACE_ID."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lambda_observe._trace_header import parse

ROOT = "1-5759e988-bd862e3fe1be46a994272793"


def test_lambda_header():
    """Root, parent and sampling, with extra fields such as Lineage ignored."""
    header = parse(f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:0")
    assert header == (ROOT, "53995c3f42cd8ad8", True)


def test_unsampled_missing_parent_and_spaces():
    """Sampled=0 is kept; a missing or bad parent is None; '; ' separators are tolerated."""
    assert parse(f"Root={ROOT};Sampled=0") == (ROOT, None, False)
    assert parse(f"Root={ROOT}; Parent=zz; Sampled=1") == (ROOT, None, True)


def test_malformed_is_none():
    """No header, no root, or a root of the wrong shape: not traced."""
    for raw in (None, "", "garbage", "Root=1-abc", "Parent=53995c3f42cd8ad8", f"Root={ROOT[:-1]}"):
        assert parse(raw) is None


@given(st.text(max_size=200))
def test_never_raises(raw):
    """Any string parses to a header or None, never an exception."""
    result = parse(raw)
    assert result is None or result.root.startswith("1-")


@given(
    st.from_regex(r"[0-9a-f]{8}", fullmatch=True),
    st.from_regex(r"[0-9a-f]{24}", fullmatch=True),
    st.from_regex(r"[0-9a-f]{16}", fullmatch=True),
    st.sampled_from(["0", "1"]),
)
def test_round_trip(epoch, unique, parent, sampled):
    """Every well-formed header gives back its parts."""
    header = parse(f"Root=1-{epoch}-{unique};Parent={parent};Sampled={sampled}")
    assert header == (f"1-{epoch}-{unique}", parent, sampled == "1")
