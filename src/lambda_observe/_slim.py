"""Slimming this package's sources for the Lambda layer: docstrings and comments blanked.

Only the text goes: every line stays where it was (a docstring becomes an empty string spanning the
same lines, a comment becomes nothing), so tracebacks from the layer point at the same line numbers
as the sources in the repository. The code itself is untouched: the module's AST, docstrings aside,
is the same (``tests/unit/test_slim.py`` checks it for every module of the package).
"""

from __future__ import annotations

import ast
import io
import tokenize

__all__ = ["slim"]


def _docstring(node: ast.AST) -> ast.Constant | None:
    """The docstring node of a module, class or function, if it has one."""
    if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) or not node.body:
        return None
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first.value
    return None


def _docstring_spans(tree: ast.Module) -> list[tuple[int, int, int, int]]:
    spans = []
    for node in ast.walk(tree):
        doc = _docstring(node)
        if doc is not None and doc.end_lineno is not None and doc.end_col_offset is not None:
            spans.append((doc.lineno, doc.col_offset, doc.end_lineno, doc.end_col_offset))
    return spans


def _lines(text: str) -> list[str]:
    """Lines as Python's tokenizer counts them (str.splitlines also splits at \\x1c-\\x1e, \\x85...)."""
    return io.StringIO(text, newline="").readlines()


def _chars(line: str, byte_offset: int) -> int:
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))


def slim(source: str, comments: bool = True) -> str:
    """``source`` with its docstrings emptied and (unless ``comments=False``) its comments removed,
    line for line. Third-party sources keep their comments: license headers live there."""
    tree = ast.parse(source)
    lines = _lines(source)
    edits: list[tuple[int, int, int, int, str]] = []
    for start, col, end, end_col in _docstring_spans(tree):
        col, end_col = _chars(lines[start - 1], col), _chars(lines[end - 1], end_col)  # ast counts UTF-8 bytes
        edits.append((start, col, end, end_col, '"""' + "\n" * (end - start) + '"""'))
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if comments and tok.type == tokenize.COMMENT and not (tok.start[0] <= 2 and "coding" in tok.string):
            edits.append((tok.start[0], tok.start[1], tok.end[0], tok.end[1], ""))
    # Apply from the end, so earlier positions stay valid (positions are 1-based lines, 0-based columns
    # in characters of the decoded text).
    for start, col, end, end_col, text in sorted(edits, reverse=True):
        head = lines[start - 1][:col]
        tail = lines[end - 1][end_col:]
        replacement = _lines(head + text + tail) or [""]
        lines[start - 1 : end] = replacement
    out = "".join(lines)
    return "\n".join(line.rstrip() for line in out.split("\n"))
