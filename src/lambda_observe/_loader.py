"""Finding a handler from a string: ``app.handler``, ``pkg/sub/app.handler``, ``app.py:handler``."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["HandlerNotFoundError", "load_handler"]


class HandlerNotFoundError(ValueError):
    """The handler string does not name an importable module and a callable in it."""


def _split(spec: str, source: str) -> tuple[str, str, Path | None]:
    """(module name, function name, directory to put on sys.path)."""
    if ":" in spec:  # a file path: examples/orders/app.py:handler
        path_text, _, func = spec.rpartition(":")
        path = Path(path_text)
        if path.suffix != ".py":
            raise HandlerNotFoundError(f"{source}={spec!r}: expected 'path/to/file.py:function'")
        if not path.is_file():
            raise HandlerNotFoundError(f"{source}={spec!r}: no file {path_text!r}")
        return path.stem, func, path.resolve().parent
    module, dot, func = spec.rpartition(".")
    if not dot or not module or not func:
        raise HandlerNotFoundError(f"{source}={spec!r}: expected 'module.function' (e.g. 'app.handler')")
    return module.replace("/", "."), func, None


def load_handler(spec: str, root: str | None = None, source: str = "handler") -> Callable[..., Any]:
    """Import the module ``spec`` names and return its function.

    ``root`` (default ``LAMBDA_TASK_ROOT`` or the working directory) is where dotted module
    names are looked up, as Lambda does. ``source`` names where the string came from, for the
    error message (e.g. ``LAMBDA_OBSERVE_HANDLER``).
    """
    if not isinstance(spec, str) or not spec.strip():
        raise HandlerNotFoundError(f"{source} is empty: expected 'module.function' (e.g. 'app.handler')")
    module_name, func_name, directory = _split(spec.strip(), source)
    base = str(directory) if directory else (root or os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd())
    if base not in sys.path:
        sys.path.insert(0, base)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise HandlerNotFoundError(
                f"{source}={spec!r}: module {module_name!r} was not found under {base!r}"
            ) from None
        raise
    handler = getattr(module, func_name, None)
    if handler is None:
        raise HandlerNotFoundError(f"{source}={spec!r}: module {module_name!r} has no attribute {func_name!r}")
    if not callable(handler):
        raise HandlerNotFoundError(f"{source}={spec!r}: {module_name}.{func_name} is not callable")
    return handler  # type: ignore[no-any-return]
