"""Run a function right after a named module is first imported (a post-import hook).

A small ``sys.meta_path`` finder: when the import system looks for a watched module, the
finder asks the other finders for the real spec and hands back the same spec with a loader
that runs the real loader, then the hooks. It imports nothing beyond what ``import sys``
gives, so registering a hook costs microseconds, where wrapt's (which imports asyncio and
inspect) costs tens of milliseconds in a fresh interpreter.

Hooks that register while another hook is running in the same thread are run after it ends:
a hook may import a module that another hook watches (the X-Ray SDK imports botocore while it
is only half initialised, outside Lambda), and the second hook must not see the first
half-done. Threads are independent: a hook runs in the thread that imported its module, before
that import returns. ``sys.meta_path`` is replaced, never changed in place, so an import
running in another thread never sees the list shift under it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

__all__ = ["when_imported"]

Hook = Callable[[ModuleType], None]

_HOOKS: dict[str, list[Hook]] = {}
_LOCK = threading.RLock()


class _PerThread(threading.local):
    def __init__(self) -> None:
        self.running = False
        self.pending: list[tuple[Hook, ModuleType]] = []
        self.busy: set[str] = set()


_THREAD = _PerThread()


def when_imported(name: str, hook: Hook) -> None:
    """Call ``hook(module)`` once ``name`` is imported: now if it already is, else just after.

    A module another thread is still importing (in ``sys.modules``, its body still running) is
    waited for first: the import system's own per-module lock makes ``__import__`` return once it
    has finished, so the hook never sees it half done.
    """
    with _LOCK:
        module = sys.modules.get(name)
        if module is None:
            _HOOKS.setdefault(name, []).append(hook)
            if not any(type(f) is _Finder for f in sys.meta_path):
                sys.meta_path = [_Finder(), *sys.meta_path]
            return
    if getattr(getattr(module, "__spec__", None), "_initializing", False) is True:
        try:
            __import__(name)  # another thread's import: returns when it is done (this thread's: at once)
        except Exception:
            pass
        module = sys.modules.get(name, module)
    _run(hook, module)


def _run(hook: Hook, module: ModuleType) -> None:
    """Run ``hook``, or queue it behind the hook this thread is running now (see the module docstring)."""
    state = _THREAD
    if state.running:
        state.pending.append((hook, module))
        return
    state.running = True
    try:
        hook(module)
        while state.pending:
            hook, module = state.pending.pop(0)
            hook(module)
    finally:
        state.running = False
        state.pending.clear()


class _Loader:
    """The real loader, plus the hooks once the module has run; everything else is the real loader's."""

    def __init__(self, name: str, loader: Any) -> None:
        self._name = name
        self._loader = loader

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._loader, attr)

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self._loader
        spec = getattr(module, "__spec__", None)
        if spec is not None:
            spec.loader = self._loader
        self._loader.exec_module(module)
        with _LOCK:
            hooks = _HOOKS.pop(self._name, [])
            if not _HOOKS:
                sys.meta_path = [f for f in sys.meta_path if type(f) is not _Finder]
        if module.__name__ in sys.modules:  # the import system binds it again after us; that is fine
            module = sys.modules[module.__name__]
        parent, _, child = self._name.rpartition(".")
        if parent and parent in sys.modules and not hasattr(sys.modules[parent], child):
            setattr(sys.modules[parent], child, module)  # hooks may reach it as parent.child already
        for hook in hooks:
            _run(hook, module)


class _Finder:
    """Finds nothing itself: wraps the loader of a watched module that another finder found."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if fullname not in _HOOKS:  # first: asked for every module imported while a hook waits
            return None
        busy = _THREAD.busy
        if fullname in busy:
            return None
        busy.add(fullname)
        try:
            for finder in sys.meta_path:
                if finder is self or type(finder) is _Finder:
                    continue
                find = getattr(finder, "find_spec", None)
                if find is None:
                    continue
                spec: ModuleSpec | None = find(fullname, path, target)
                if spec is not None:
                    if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                        spec.loader = _Loader(fullname, spec.loader)  # type: ignore[assignment]
                    return spec
            return None
        finally:
            busy.discard(fullname)
