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
import threading
import time
from typing import Any

from . import config
from ._hooks import before_timeout_warning
from ._invocation import Invocation

__all__ = ["arm", "disarm"]

_LOG = logging.getLogger("lambda_observe")
#: The invocation being watched: (invocation, root span, its context, when it is due), or nothing.
_ARMED: list[tuple[Invocation, Any, contextvars.Context, float]] = []
#: Guards the watcher's state; the watcher waits on it.
_WATCH = threading.Condition(threading.Lock())
#: When the last invocation armed is (or was) due.
_LAST_DUE = [float("-inf")]
#: When the watcher wakes next (``time.time()``), ``inf`` while it waits to be woken.
_WAKE_AT = [float("inf")]
#: How much sooner than the watcher's wake-up an invocation may be due without waking it: the
#: remaining time comes in whole milliseconds, so the deadlines of one function's invocations jitter
#: by a millisecond either way. At worst the warning comes this much late.
_SLACK = 0.01
#: The watcher thread of this process, once started.
_WATCHER: list[threading.Thread] = []
# Held for the whole warning: disarm waits for it, so the handler's final documents are always sent
# after the in-progress ones (X-Ray keeps the last document of an id).
_FIRING = threading.Lock()


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
    entry = (inv, root, contextvars.copy_context(), inv.deadline - margin / 1000.0)
    with _WATCH:
        _ARMED[:] = [entry]
        _LAST_DUE[0] = entry[3]
        if not _WATCHER:
            _start_watcher()
        elif entry[3] < _WAKE_AT[0] - _SLACK:  # due well before the watcher wakes: wake it now (rare)
            _WATCH.notify()
    return entry


def disarm(handle: Any) -> None:
    """Stop watching; the invocation ended in time (or ended anyway)."""
    if handle is None:
        return
    with _FIRING:  # a warning under way finishes sending first
        if _ARMED and _ARMED[0] is handle:
            _ARMED.clear()


def _start_watcher() -> None:
    """Called with ``_WATCH`` held."""
    if not _FORK_HOOK:
        os.register_at_fork(after_in_child=_after_fork)
        _FORK_HOOK.append(True)
    thread = threading.Thread(target=_watch, name="lambda_observe-timeout", daemon=True)
    _WATCHER.append(thread)
    thread.start()


def _watch() -> None:
    while True:
        with _WATCH:
            due = None
            while due is None:
                now = time.time()
                if _ARMED and _ARMED[0][3] <= now:
                    due = _ARMED[0]
                    continue
                # Sleep until the invocation under way would be due, or the last one armed (it may have
                # ended before we looked): one that starts meanwhile is due later, so it need not wake
                # us; one due sooner does (see arm).
                horizon = _ARMED[0][3] if _ARMED else _LAST_DUE[0]
                if horizon > now:
                    _WAKE_AT[0] = horizon
                    _WATCH.wait(horizon - now)
                else:  # nothing under way, nothing to come: sleep until an invocation is armed
                    _WAKE_AT[0] = float("inf")
                    _WATCH.wait()
            _WAKE_AT[0] = float("inf")
        with _FIRING:
            if _ARMED and _ARMED[0] is due:  # not disarmed meanwhile: warn once
                _ARMED.clear()
                _fire(due)


def _fire(entry: tuple[Invocation, Any, contextvars.Context, float]) -> None:
    inv, root, ctx, _ = entry
    try:  # in the invocation's own context: the warning carries its request id, trace id, cold start
        ctx.run(_warn_timeout, inv, root)
    except Exception:  # the warning is best effort; never disturb the handler
        pass


_FORK_HOOK: list[bool] = []


def _after_fork() -> None:
    """A forked child has no watcher thread (and the parent's locks may have been held): start anew."""
    global _WATCH, _FIRING
    _WATCH = threading.Condition(threading.Lock())
    _FIRING = threading.Lock()
    _WATCHER.clear()
    _ARMED.clear()
    _WAKE_AT[0] = float("inf")
    _LAST_DUE[0] = float("-inf")
