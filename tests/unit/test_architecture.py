"""The shape of the package: the invocation lifecycle sits above its peers."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "lambda_observe"
PEERS = ("tracing", "logs", "idempotency", "metrics", "batch")


def _imported_modules(path: Path) -> set[str]:
    """Every module name a source file imports, resolved against the package (relative imports too)."""
    package = ["lambda_observe", *path.relative_to(SRC).parent.parts]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_no_peer_imports_the_lifecycle() -> None:
    """tracing, logs, idempotency (and metrics, batch) never import lambda_observe._handler back."""
    offenders = [
        str(path.relative_to(SRC))
        for peer in PEERS
        if (SRC / peer).is_dir()
        for path in (SRC / peer).rglob("*.py")
        if any(
            name == "lambda_observe._handler" or name.startswith("lambda_observe._handler.")
            for name in _imported_modules(path)
        )
    ]
    assert offenders == []


def test_logs_and_tracing_do_not_import_each_other_at_module_level() -> None:
    """No import cycle between logs and tracing: neither imports the other at the top of a module."""
    for peer, other in (("logs", "tracing"), ("tracing", "logs")):
        for path in (SRC / peer).rglob("*.py"):
            top = [n for n in ast.parse(path.read_text()).body if isinstance(n, (ast.Import, ast.ImportFrom))]
            for node in top:
                module = getattr(node, "module", None) or ""
                assert f"lambda_observe.{other}" not in module and not (
                    isinstance(node, ast.ImportFrom) and node.level >= 2 and module.startswith(other)
                ), f"{path.relative_to(SRC)} imports {other} at module level"


def test_the_check_sees_a_planted_import(tmp_path: Path) -> None:
    """The import scanner resolves relative imports, so a planted ``from .._handler import x`` is found."""
    planted = SRC / "logs" / "_planted_for_test.py"
    planted.write_text("from .._handler import traced\n")
    try:
        assert "lambda_observe._handler" in _imported_modules(planted)
    finally:
        planted.unlink()
