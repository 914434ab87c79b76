"""Init tracing: an ``Initialization`` subsegment in the first invocation's trace.

Switched on by ``LAMBDA_OBSERVE_TRACE_INIT=true``, and by default under the zero-code wrapper
(``LAMBDA_OBSERVE_TRACE_INIT=false`` switches it off there). While on, a ``sys.meta_path``
finder times each module's execution; imports that took at least
``LAMBDA_OBSERVE_TRACE_INIT_MIN_MS`` (default 5) become children of ``Initialization``, nested
as the imports nested. The first invocation sends the tree (ids drawn then, after any SnapStart
reseed) and carries ``init_duration_ms`` on its log lines. Switched off, nothing is installed.

Where it starts: at ``import lambda_observe`` when the variable is set, from the process's start
time (so the runtime's own start-up is inside); under the wrapper without the variable, just
before the handler's module is imported.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

__all__ = ["enabled", "process_start", "start", "start_from", "stop"]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class _Record:
    __slots__ = ("children", "end", "name", "start")

    def __init__(self, name: str, start: float) -> None:
        self.name = name
        self.start = start
        self.end = start
        self.children: list[_Record] = []


class _State:
    running = False
    done = False
    start = 0.0
    end = 0.0
    min_s = 0.005
    thread = 0
    top: list[_Record] = []
    stack: list[_Record] = []


def enabled(default: bool = False) -> bool:
    """Is init tracing asked for? ``LAMBDA_OBSERVE_TRACE_INIT`` decides; unset means ``default``."""
    raw = os.environ.get("LAMBDA_OBSERVE_TRACE_INIT", "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    return default


def _min_seconds() -> float:
    raw = os.environ.get("LAMBDA_OBSERVE_TRACE_INIT_MIN_MS", "").strip()
    try:
        value = float(raw) if raw else 5.0
    except ValueError:
        value = 5.0
    return max(value, 0.0) / 1000.0


def process_start() -> float | None:
    """When this process started (wall clock, Linux), or None when it cannot be read.

    ``now - uptime + starttime``: ``/proc/stat``'s ``btime`` would be simpler but counts whole
    seconds, which biased the start (and ``init_duration_ms``) by up to a second.
    """
    try:
        fields = _read("/proc/self/stat").rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # starttime: field 22 of stat, counted after the command name
        uptime = float(_read("/proc/uptime").split()[0])
        return start_from(time.time(), uptime, ticks, os.sysconf("SC_CLK_TCK"))
    except Exception:
        return None


def _read(path: str) -> str:
    with open(path, encoding="ascii") as fh:
        return fh.read()


def start_from(now: float, uptime: float, start_ticks: int, clk_tck: int) -> float:
    """The wall-clock start of a process that started ``start_ticks`` clock ticks after boot,
    ``uptime`` seconds after which it is ``now``."""
    return now - uptime + start_ticks / clk_tck


def start(from_process_start: bool = False) -> None:
    """Start timing imports (once per process)."""
    if _State.running or _State.done:
        return
    now = time.time()
    began = process_start() if from_process_start else None
    _State.start = began if began is not None and began <= now else now
    _State.end = now
    _State.min_s = _min_seconds()
    _State.thread = threading.get_ident()
    _State.running = True
    sys.meta_path = [_Timer(), *sys.meta_path]  # replaced, never shifted under another thread's import
    from ._hooks import add_start_hook

    add_start_hook(_first_invocation)


def stop() -> None:
    """Stop timing imports; the init ends now."""
    if not _State.running:
        return
    _State.running = False
    _State.done = True
    _State.end = time.time()
    sys.meta_path = [f for f in sys.meta_path if type(f) is not _Timer]


def _first_invocation(inv: Any, event: Any) -> None:
    """Start hook: at the first invocation, send the Initialization tree; later, nothing."""
    from ._hooks import INVOCATION_HOOKS

    if _State.running:  # under @traced: on demand the init ends now; otherwise with the last import
        stop()
        if getattr(inv, "init_type", "on-demand") != "on-demand" and _State.top:
            _State.end = _State.top[-1].end
    if _first_invocation in INVOCATION_HOOKS:
        INVOCATION_HOOKS.remove(_first_invocation)
    inv.keys["init_duration_ms"] = round((_State.end - _State.start) * 1000.0, 1)
    from .tracing import _state

    backend = _state.backend()
    root = backend.root(inv)
    send = getattr(backend, "send", None)
    if root is None or send is None:
        return
    send(_document(root))


def _document(root: Any) -> dict[str, Any]:
    from .tracing._span import new_id

    def doc(name: str, start: float, end: float, parent_id: str, kids: list[_Record]) -> dict[str, Any]:
        own = new_id()
        out: dict[str, Any] = {
            "name": name,
            "id": own,
            "start_time": start,
            "end_time": end,
            "trace_id": root.trace_id,
            "parent_id": parent_id,
            "type": "subsegment",
        }
        subs = [doc(k.name, k.start, k.end, own, k.children) for k in kids if k.end - k.start >= _State.min_s]
        if subs:
            out["subsegments"] = subs
        return out

    return doc("Initialization", _State.start, _State.end, root.id, _State.top)


def reset() -> None:
    """Forget everything (for tests)."""
    stop()
    _State.done = False
    _State.top = []
    _State.stack = []


class _Loader:
    """The real loader, timed."""

    def __init__(self, name: str, loader: Any) -> None:
        self._name = name
        self._loader = loader

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._loader, attr)

    def create_module(self, spec: Any) -> Any:
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: Any) -> None:
        module.__loader__ = self._loader
        spec = getattr(module, "__spec__", None)
        if spec is not None:
            spec.loader = self._loader
        if not _State.running or threading.get_ident() != _State.thread:
            self._loader.exec_module(module)
            return
        record = _Record(self._name, time.time())
        stack = _State.stack
        (stack[-1].children if stack else _State.top).append(record)
        stack.append(record)
        try:
            self._loader.exec_module(module)
        finally:
            record.end = time.time()
            stack.pop()


class _Timer:
    """Finds nothing itself: wraps the loader another finder found, to time the module's body."""

    _busy: set[str] = set()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname in self._busy or not _State.running:
            return None
        self._busy.add(fullname)
        try:
            for finder in sys.meta_path:
                if type(finder) is _Timer:
                    continue
                find = getattr(finder, "find_spec", None)
                if find is None:
                    continue
                spec = find(fullname, path, target)
                if spec is not None:
                    if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                        spec.loader = _Loader(fullname, spec.loader)
                    return spec
            return None
        finally:
            self._busy.discard(fullname)
