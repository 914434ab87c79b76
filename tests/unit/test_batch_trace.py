"""lambda_observe.batch._trace: the upstream trace of a record, read by a fast path that agrees with the parser."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_observe import _trace_header
from lambda_observe.batch import _trace

HEX = "0123456789abcdefABCDEF"
roots = st.builds(
    lambda a, b: f"1-{a}-{b}", st.text(HEX, min_size=8, max_size=8), st.text(HEX, min_size=24, max_size=24)
)
parents = st.text(HEX, min_size=16, max_size=16)
#: Field values: well-formed ids, near misses, and free text (never a ';', which separates fields).
values = st.one_of(
    roots,
    parents,
    st.sampled_from(["1", "0", "?", "", " 1", "1-abc", "a87bd80c:1|68fd508a:5", "x=y", "Root=" + "1-" + "0" * 33]),
    st.text(st.characters(blacklist_characters=";"), max_size=12),
)
keys = st.sampled_from(["Root", "Parent", "Sampled", "Lineage", "Self", "root", " Root", "Parent ", ""])
fields = st.builds(lambda k, sep, v: f"{k}{sep}{v}", keys, st.sampled_from(["=", "", " = ", "=="]), values)


@st.composite
def canonical(draw: Any) -> str:
    """A header as AWS writes it on an SQS message: Root, Parent, then optionally Sampled and Lineage."""
    header = f"Root={draw(roots)};Parent={draw(parents)}"
    if draw(st.booleans()):
        header += f";Sampled={draw(st.sampled_from(['0', '1', '?']))}"
    if draw(st.booleans()):
        header += ";Lineage=a87bd80c:1|68fd508a:5"
    return header


def parsed(raw: Any) -> tuple[str, str | None] | None:
    header = _trace_header.parse(raw)
    return None if header is None else (header.root, header.parent)


@settings(max_examples=600, deadline=None)
@given(
    st.one_of(
        canonical(), st.lists(fields, max_size=6).map(";".join), st.builds(lambda c, f: f"{c};{f}", canonical(), fields)
    )
)
def test_upstream_reads_every_header_as_the_parser_does(raw):
    """Canonical headers, canonical headers with one more field (a later Root or Parent wins), and field soup:
    the fast path answers exactly what lambda_observe._trace_header.parse answers."""
    assert _trace.upstream(raw) == parsed(raw)


def refuse(raw: Any) -> None:
    raise AssertionError(f"the parser was asked for {raw!r}")


@settings(max_examples=100, deadline=None)
@given(canonical())
def test_canonical_headers_are_read_without_the_parser(raw):
    """The header as AWS writes it never reaches the general parser (that is the fast path's point)."""
    with mock.patch.object(_trace_header, "parse", refuse):
        root, parent = _trace.upstream(raw) or ("", "")
    assert raw.startswith(f"Root={root};Parent={parent}")


@pytest.mark.parametrize("raw", [None, 42, b"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8", ""])
def test_upstream_of_what_is_not_a_header_is_none(raw):
    """A missing, empty or non-text AWSTraceHeader is no upstream trace."""
    assert _trace.upstream(raw) is None
