"""The timeout warning: say where the time went before Lambda kills the process.

When an invocation comes within a margin of its deadline, log one WARNING naming the
request id and the subsegments still open, and send those subsegments as still running
(X-Ray ``in_progress`` documents, see :meth:`lambda_observe.tracing.xray.XRayBackend.mark_timeout`).
The warning changes nothing in the spans: if the handler then ends in time, their final
documents replace the in-progress ones and tell what happened.

One watcher thread per process, started at the first invocation that is armed, waits for the
deadline of the invocation under way. Arming and disarming cost no system call: the watcher sleeps
until the moment the invocation it last saw would be due, then looks again; as every invocation of
a function has the same timeout, a later invocation is due later, so an invocation starting only
replaces what the watcher will find when it wakes (the watcher is woken early only when an
invocation is due sooner than that). Interval timers (``setitimer``) cost two system calls per
invocation, measured at about 13 µs on these machines, a tenth of the whole warm overhead; the
watcher leaves ``SIGALRM`` and its timer entirely to the handler's own code. Nothing armed outlives
its invocation: the watcher finds an ended invocation gone and warns of nothing.

The warning runs in a copy of the invocation's context taken when it was armed, so its log line
carries the request id, trace id and cold start. There is one armed invocation per process, as
Lambda runs one invocation per process; the lifecycle does not arm one for an invocation that
overlaps another (see :mod:`lambda_observe._handler`).
"""

from __future__ import annotations

import contextvars
import logging
import os
import sys
import threading
import time
from typing import Any

from . import config
from ._hooks import before_timeout_warning
from ._invocation import Invocation

__all__ = ["arm", "disarm"]

_LOG = logging.getLogger("lambda_observe")
_INF = float("inf")
_TIMEOUT_MAX = min(threading.TIMEOUT_MAX, 1e6)
#: The invocation being watched: (invocation, root span, its context, when it is due), or nothing.
_ARMED: list[tuple[Invocation, Any, contextvars.Context, float]] = []
#: When the last invocation armed is (or was) due, and how long it had from arming to then.
_LAST = [-_INF, 0.0]
#: When the watcher wakes next (``time.time()``), ``inf`` while it sleeps until rung.
_WAKE_AT = [_INF]
#: How much sooner than the watcher's wake-up an invocation may be due without waking it: the
#: remaining time comes in whole milliseconds, so the deadlines of one function's invocations jitter
#: by a millisecond either way. At worst the warning comes this much late.
_SLACK = 0.01
#: Idle, the watcher looks again after the last invocation's budget (so that the next invocation,
#: due that long after it starts, never has to wake it), but not more often than this, and stops
#: looking after :data:`_IDLE_FOR` seconds without an invocation (then the next one wakes it).
_IDLE_MIN = 0.1
_IDLE_FOR = 600.0


class _Native:
    """The watcher's thread and locks: the operating system's, also under gevent's monkey-patching
    (where ``threading`` would give a greenlet that never runs while a handler holds the hub)."""

    start: Any = None
    lock: Any = None
    guard: Any = None  # the watcher's state
    bell: Any = None  # locked, except while ringing: the watcher sleeps acquiring it
    firing: Any = None  # held for a whole warning: disarm waits for it (final documents come last)
    sleeping = False
    started = False


def _natives() -> tuple[Any, Any]:
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None:
        try:
            if monkey.is_module_patched("threading"):
                start, lock = monkey.get_original("_thread", ["start_new_thread", "allocate_lock"])
                return start, lock
        except Exception:
            pass
    import _thread

    return _thread.start_new_thread, _thread.allocate_lock


def open_tree(opened: list[Any]) -> str:
    """The open spans as a tree: a child after its parent with ``>``, siblings (concurrent tasks,
    threads) side by side in brackets: ``## handler > [a > x, b]``."""
    ids = {id(s) for s in opened}
    kids: dict[int, list[Any]] = {}
    tops: list[Any] = []
    for span in opened:  # ``opened`` is sorted by start time: children keep their order
        parent = getattr(span, "parent", None)
        if parent is not None and id(parent) in ids:
            kids.setdefault(id(parent), []).append(span)
        else:
            tops.append(span)

    def render(spans: list[Any]) -> str:
        parts = []
        for span in spans:
            text = str(getattr(span, "name", "?"))
            below = kids.get(id(span))
            if below:
                text += " > " + render(below)
            parts.append(text)
        return parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"

    return render(tops) if tops else "nothing traced"  # very deep nesting: RecursionError, see the caller


def _warn_timeout(inv: Invocation, root: Any) -> None:
    try:
        # a list first: the handler's thread may open or close spans meanwhile (one C call under the GIL)
        opened = sorted(list(root.open.values()), key=lambda s: s.start_time) if root is not None else []
        names = [getattr(s, "name", "?") for s in opened]
        before_timeout_warning(inv)  # buffered logs and metrics first, then the warning
        remaining = inv.remaining_ms()
        try:
            tree = open_tree(opened)
        except RecursionError:
            tree = ", ".join(str(n) for n in names)
        message = f"invocation {inv.request_id or '-'} is {remaining:.0f} ms from its deadline; still open: {tree}"
        _LOG.warning(message, extra={"open_subsegments": names, "remaining_ms": round(remaining or 0.0)})
        if opened:
            from .tracing import _state

            backend = _state.backend()
            for span in reversed(opened):
                backend.mark_timeout(span, message)
    except Exception:  # the warning is best effort; never disturb the handler
        pass


def arm(inv: Invocation, root: Any) -> Any:
    """Start watching ``inv``'s deadline; returns what :func:`disarm` needs, or ``None``."""
    margin = config.get().timeout_warning_ms
    if margin <= 0 or inv.deadline is None:
        return None
    due = inv.deadline - margin / 1000.0
    if due != due:  # a context that gave NaN for its remaining time: nothing to watch
        return None
    entry = (inv, root, contextvars.copy_context(), due)
    if not _Native.started:
        _start_watcher()
    with _Native.guard:
        _ARMED[:] = [entry]
        _LAST[0], _LAST[1] = due, due - time.time()
        if due < _WAKE_AT[0] - _SLACK:  # due well before the watcher wakes: wake it now (rare)
            _ring()
    return entry


def disarm(handle: Any) -> None:
    """Stop watching; the invocation ended in time (or ended anyway)."""
    if handle is None:
        return
    with _Native.firing:  # a warning under way finishes sending first
        if _ARMED and _ARMED[0] is handle:
            _ARMED.clear()


def _ring() -> None:
    """Wake the watcher; called with the guard held."""
    if _Native.sleeping:
        _Native.sleeping = False
        _Native.bell.release()


_STARTING = threading.Lock()


def _start_watcher() -> None:
    with _STARTING:
        if _Native.started:
            return
        start, lock = _natives()
        if _Native.start is None:  # the first watcher of this process: a forked child starts its own
            os.register_at_fork(after_in_child=_after_fork)
        _Native.start, _Native.lock = start, lock
        _fresh_locks()
        start(_watch, ())
        _Native.started = True


def _fresh_locks() -> None:
    _Native.guard, _Native.bell, _Native.firing = _Native.lock(), _Native.lock(), _Native.lock()
    _Native.bell.acquire()


def _next(now: float) -> tuple[Any, float]:
    """What the watcher does now, with the guard held: (the entry due, or None; how long to sleep)."""
    if _ARMED:
        entry = _ARMED[0]
        if entry[3] <= now:
            return entry, 0.0
        return None, entry[3] - now  # until it is due: one that starts meanwhile is due later
    if _LAST[0] > now:
        return None, _LAST[0] - now  # the last one armed ended; none is due before it would have been
    if now - _LAST[0] < _IDLE_FOR:  # idle: look again before the next invocation could be due
        return None, max(_LAST[1], _IDLE_MIN)
    return None, _INF  # long idle: the next invocation wakes us


def _watch() -> None:
    try:  # the name the warning's log record carries (threadName)
        threading.current_thread().name = "lambda_observe-timeout"
    except Exception:
        pass
    while True:
        with _Native.guard:
            now = time.time()
            entry, delay = _next(now)
            if entry is None:
                _WAKE_AT[0] = now + delay
                _Native.sleeping = True
        if entry is None:
            _Native.bell.acquire(True, -1 if delay == _INF else min(delay, _TIMEOUT_MAX))
            with _Native.guard:
                _Native.sleeping = False
                _WAKE_AT[0] = _INF
            continue
        with _Native.firing:
            if _ARMED and _ARMED[0] is entry:  # not disarmed meanwhile: warn once
                _ARMED.clear()
                _fire(entry)


def _fire(entry: tuple[Invocation, Any, contextvars.Context, float]) -> None:
    inv, root, ctx, _ = entry
    try:  # in the invocation's own context: the warning carries its request id, trace id, cold start
        ctx.run(_warn_timeout, inv, root)
    except Exception:  # the warning is best effort; never disturb the handler
        pass


def _after_fork() -> None:
    """A forked child has no watcher thread (and the parent's locks may have been held): its next
    armed invocation starts one."""
    global _STARTING
    _STARTING = threading.Lock()
    if _Native.lock is not None:
        _fresh_locks()
    _Native.started = False
    _Native.sleeping = False
    _ARMED.clear()
    _WAKE_AT[0] = _INF
    _LAST[0], _LAST[1] = -_INF, 0.0
