"""Finding a handler from a string: ``app.handler``, ``pkg/sub/app.handler``, ``app.py:handler``."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["HandlerNotFoundError", "load_handler"]


class HandlerNotFoundError(ValueError):
    """The handler string does not name an importable module and a callable in it."""


def _split(spec: str, source: str) -> tuple[str, str, Path | None]:
    """(module name, function name, directory to put on sys.path).

    A file inside a package (its directory has ``__init__.py``, and so on upwards) is imported as
    that package's module (``pkg/sub/app.py`` is ``pkg.sub.app``, from the directory holding
    ``pkg``), so its relative imports work as they do with ``pkg/sub/app.handler``.
    """
    if ":" in spec:  # a file path: examples/orders/app.py:handler
        path_text, _, func = spec.rpartition(":")
        path = Path(path_text)
        if path.suffix != ".py":
            raise HandlerNotFoundError(f"{source}={spec!r}: expected 'path/to/file.py:function'")
        if not path.is_file():
            raise HandlerNotFoundError(f"{source}={spec!r}: no file {path_text!r}")
        path = path.resolve()
        parts = [path.stem]
        directory = path.parent
        while (directory / "__init__.py").is_file() and directory.parent != directory and directory.name.isidentifier():
            parts.insert(0, directory.name)
            directory = directory.parent
        return ".".join(parts), func, directory
    module, dot, func = spec.rpartition(".")
    if not dot or not module or not func:
        raise HandlerNotFoundError(f"{source}={spec!r}: expected 'module.function' (e.g. 'app.handler')")
    return module.replace("/", "."), func, None


def _name_for_file(stem: str, path: Path) -> str:
    """The module name to import ``path`` under: its stem, unless another file already has it.

    ``la/app.py`` then ``lb/app.py``: both are ``app``, and ``import app`` would return la's from
    ``sys.modules``. The second is loaded from its own file under a name of its own.
    """
    taken = sys.modules.get(stem)
    if taken is None:
        try:  # another directory earlier on sys.path, or the standard library, may hold the name
            found = importlib.util.find_spec(stem)
        except (ImportError, ValueError):
            found = None
        if found is not None and _same_file(found.origin, path):
            return stem
    elif _same_file(getattr(taken, "__file__", None), path):
        return stem
    import hashlib

    name = f"{stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:12]}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise HandlerNotFoundError(f"cannot load {str(path)!r} as a module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return name


def _same_file(file: str | None, path: Path) -> bool:
    try:
        return file is not None and Path(file).resolve() == path
    except OSError:
        return False


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
    if directory is not None and "." not in module_name:  # a top-level file: its own module if the name is taken
        module_name = _name_for_file(module_name, directory / f"{module_name}.py")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing == module_name or module_name.startswith(missing + "."):  # the handler's own module
            raise HandlerNotFoundError(
                f"{source}={spec!r}: module {module_name!r} was not found under {base!r}"
            ) from None
        raise HandlerNotFoundError(  # the module is there; something it imports is not
            f"{source}={spec!r}: module {module_name!r} was found, but importing it failed: "
            f"no module named {missing!r} (a dependency missing from the package?)"
        ) from exc
    handler = getattr(module, func_name, None)
    if handler is None:
        raise HandlerNotFoundError(f"{source}={spec!r}: module {module_name!r} has no attribute {func_name!r}")
    if not callable(handler):
        raise HandlerNotFoundError(f"{source}={spec!r}: {module_name}.{func_name} is not callable")
    return handler  # type: ignore[no-any-return]
