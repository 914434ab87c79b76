"""The timeout warning: say where the time went before Lambda kills the process.

When an invocation comes within a margin of its deadline, log one WARNING naming the
request id and the subsegments still open, and send those subsegments as still running
(X-Ray ``in_progress`` documents, see :meth:`lambda_observe.tracing.xray.XRayBackend.mark_timeout`).
The warning changes nothing in the spans: if the handler then ends in time, their final
documents replace the in-progress ones and tell what happened. In the main thread (where the
Lambda runtime calls the handler) this is a ``SIGALRM`` interval timer: no thread at all.
Elsewhere, a ``threading.Timer`` that is cancelled when the invocation ends. Nothing outlives
its invocation.

The warning runs in a copy of the invocation's context taken when it was armed, so its log line
carries the request id, trace id and cold start wherever it fires.

There is one alarm per process, as Lambda runs one invocation per process; the lifecycle does
not arm one for an invocation that overlaps another (see :mod:`lambda_observe._handler`).

The ``SIGALRM`` timer is shared with the handler's own code, and ours is told from theirs by its
reload interval (:data:`_MARK`, an hour and 123 µs: no one else's timer has it, and a deadline is
never that far away). A SIGALRM handler installed before the invocation is never replaced (the
thread timer is used instead). A timer of the handler's pending when an invocation starts is left
alone (that invocation's warning uses the thread timer). If the handler arms its own timer during
the invocation (``signal.alarm``, ``setitimer``), that replaces ours: no warning for that
invocation, and the handler's timer is left pending when the invocation ends. Only a pending timer
that is ours is cancelled. A SIGALRM that is not ours, arriving while our handler is installed, gets
what it would have got without us: the default action (the process ends, as ``signal.alarm``
watchdogs expect) or nothing, if it was ignored. If the handler installs its own SIGALRM handler
and leaves our timer pending, our timer is cancelled when the invocation ends, but if it comes due
before that, it is delivered to the handler's SIGALRM handler: a limit of one timer per process.
"""

from __future__ import annotations

import _signal  # the C module: getsignal without the enum conversion (measured: 0.07 µs vs 4.5 µs)
import contextvars
import logging
import os
import signal
import threading
import time
from types import FrameType
from typing import Any

from . import config
from ._hooks import before_timeout_warning
from ._invocation import Invocation

__all__ = ["arm", "disarm"]

_LOG = logging.getLogger("lambda_observe")
_ARMED: list[tuple[Invocation, Any, contextvars.Context]] = []
#: Our interval timer's reload interval: what tells it from the handler's own timers (whole
#: microseconds, as the kernel keeps them). It reloads only if it fires and the warning has not yet
#: cancelled it: a value left above :data:`_FIRED_ABOVE` means it fired.
_MARK = 3600.000123
_FIRED_ABOVE = 1800.0
#: What SIGALRM did before we installed our handler (SIG_DFL, SIG_IGN or None): what a SIGALRM that
#: is not ours gets.
_REPLACED: list[Any] = [None]
#: Set when disarm cancels our timer after it fired but before its Python handler ran: that signal
#: is still to be delivered, and it is ours.
_LATE: list[bool] = []
# Held by a timer thread for the whole warning: disarm waits for it, so the handler's final
# documents are always sent after the in-progress ones (X-Ray keeps the last document of an id).
_FIRING = threading.Lock()


def _fire() -> None:
    try:
        inv, root, ctx = _ARMED.pop()
    except IndexError:  # disarmed meanwhile
        return
    try:  # in the invocation's own context: the warning carries its request id, trace id, cold start
        ctx.run(_warn_timeout, inv, root)
    except Exception:  # the warning is best effort; never disturb the handler
        pass


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
        opened = sorted(root.open.values(), key=lambda s: s.start_time) if root is not None else []
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


def _ours(interval: float) -> bool:
    return abs(interval - _MARK) < 0.5e-6


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    # In the main thread, between two bytecodes of the handler: nothing runs concurrently.
    try:
        _, interval = signal.getitimer(signal.ITIMER_REAL)
        if _ours(interval):  # ours fired, and reloaded: stop the reload, then warn
            signal.setitimer(signal.ITIMER_REAL, 0)
            _fire()
            return
        if _LATE:  # ours fired just before the invocation ended and cancelled it
            _LATE.clear()
            return
    except (ValueError, OSError):
        return
    _pass_on(signum)


def _pass_on(signum: int) -> None:
    """A SIGALRM that is not ours: what it would have done had we not installed our handler."""
    if _REPLACED[0] == int(signal.SIG_DFL):  # the default action for SIGALRM ends the process
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _fire_in_thread() -> None:
    with _FIRING:
        _fire()


_FREE = (int(signal.SIG_DFL), int(signal.SIG_IGN), None)


def arm(inv: Invocation, root: Any) -> Any:
    """Start watching ``inv``'s deadline; returns what :func:`disarm` needs, or ``None``."""
    margin = config.get().timeout_warning_ms
    if margin <= 0 or inv.deadline is None:
        return None
    delay = max(inv.deadline - time.time() - margin / 1000.0, 0.001)
    _ARMED[:] = [(inv, root, contextvars.copy_context())]
    if threading.get_ident() == threading.main_thread().ident:
        try:
            previous = _signal.getsignal(signal.SIGALRM)
            if previous is _on_alarm or previous in _FREE:  # never take over the user's own SIGALRM handler
                if previous is not _on_alarm:
                    _REPLACED[0] = previous
                    signal.signal(signal.SIGALRM, _on_alarm)
                _LATE.clear()
                value, interval = signal.setitimer(signal.ITIMER_REAL, delay, _MARK)
                if value <= 0:
                    return "signal"
                signal.setitimer(signal.ITIMER_REAL, value, interval)  # the handler's own timer was pending: theirs
        except (ValueError, OSError, AttributeError):
            pass
    timer = threading.Timer(delay, _fire_in_thread)
    timer.daemon = True
    timer.start()
    return timer


def disarm(handle: Any) -> None:
    """Stop watching; the invocation ended in time (or ended anyway)."""
    if handle is None:
        return
    if handle == "signal":
        _ARMED.clear()
        try:  # one system call: cancel, and learn what was pending; give the handler's own timer back
            value, interval = signal.setitimer(signal.ITIMER_REAL, 0)
            if value > 0:
                if not _ours(interval):
                    signal.setitimer(signal.ITIMER_REAL, value, interval)
                elif value > _FIRED_ABOVE:  # ours fired, its handler has not run yet: it will find nothing
                    _LATE[:] = [True]
        except (ValueError, OSError):
            pass
    else:
        handle.cancel()
        with _FIRING:  # a warning under way finishes sending first
            _ARMED.clear()
