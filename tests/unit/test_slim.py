"""The layer's slimmed sources: same code, same line numbers, no docstrings or comments."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_observe._slim import _docstring, slim

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "lambda_observe"
MODULES = sorted(PACKAGE.rglob("*.py"))


def _without_docstrings(tree: ast.Module) -> str:
    for node in ast.walk(tree):
        doc = _docstring(node)
        if doc is not None:
            doc.value = ""
    lines = [(type(n).__name__, getattr(n, "lineno", None)) for n in ast.walk(tree)]
    return ast.dump(tree) + repr(lines)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_keeps_its_code_and_its_line_numbers(path: Path) -> None:
    """Slimming changes no node of the AST but docstring texts, and no node's line."""
    source = path.read_text()
    slimmed = slim(source)
    assert source.count("\n") == slimmed.count("\n")
    assert _without_docstrings(ast.parse(slimmed)) == _without_docstrings(ast.parse(source))
    assert "#" not in "".join(t for t in slimmed.splitlines() if t.lstrip().startswith("#"))


def test_the_package_gets_smaller() -> None:
    """The point of it: the package's text shrinks by a good part (docstrings and comments are most of it)."""
    before = sum(len(p.read_text()) for p in MODULES)
    after = sum(len(slim(p.read_text())) for p in MODULES)
    assert after < 0.8 * before


def test_the_line_check_sees_a_shift() -> None:
    """The line-number comparison is strict: a docstring collapsed onto one line is caught."""
    source = 'def f():\n    """one\n    two"""\n    return 1\n'
    collapsed = 'def f():\n    """"""\n    return 1\n'
    assert _without_docstrings(ast.parse(collapsed)) != _without_docstrings(ast.parse(source))


@settings(max_examples=60, deadline=None)
@given(
    doc=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters='\\"\r\x00'), max_size=40),
    comment=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), max_size=20),
    value=st.text(max_size=10),
)
def test_generated_modules_behave_the_same(doc: str, comment: str, value: str) -> None:
    """Strings that look like comments or docstrings inside code are kept; only real ones go."""
    source = (
        f'"""{doc}"""\n'
        f"X = {value!r}  # {comment}\n"
        f"Y = '# not a comment'\n"
        f'def f():\n    """{doc}"""\n    return X + Y  # {comment}\n'
    )
    namespace: dict[str, object] = {}
    exec(compile(slim(source), "<slim>", "exec"), namespace)
    assert namespace["f"]() == value + "# not a comment"  # type: ignore[operator]
    assert source.count("\n") == slim(source).count("\n")


def test_third_party_mode_keeps_comments() -> None:
    """``comments=False`` (third-party sources) blanks docstrings, keeps every comment (license headers too)."""
    source = '# Copyright 2017 Example, Apache-2.0\n"""Module doc."""\nX = 1  # why\n'
    slimmed = slim(source, comments=False)
    assert "# Copyright 2017 Example, Apache-2.0" in slimmed and "# why" in slimmed
    assert "Module doc" not in slimmed
