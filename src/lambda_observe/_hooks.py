"""Where the peers of the invocation lifecycle register: logs, idempotency, metrics, batches.

:mod:`lambda_observe._handler` runs these lists; the peers append to them. This module imports
nothing of the package but :mod:`._invocation`, so a peer can register without importing the
lifecycle (the arrows point down: the lifecycle uses its peers, never the other way round).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._invocation import Invocation

__all__ = [
    "END_HOOKS",
    "INVOCATION_HOOKS",
    "TIMEOUT_HOOKS",
    "EndHook",
    "Hook",
    "TimeoutHook",
    "add_end_hook",
    "add_start_hook",
    "add_timeout_hook",
    "before_timeout_warning",
]

Hook = Callable[[Invocation, Any], None]
EndHook = Callable[[Invocation, "BaseException | None"], None]
TimeoutHook = Callable[[Invocation], None]

#: Called at the start of every invocation with (invocation, event), after the invocation has
#: begun and before the handler's span opens.
INVOCATION_HOOKS: list[Hook] = []
#: Called at the end of every invocation with (invocation, the exception the handler raised or
#: ``None``), after the handler's span is closed and before the invocation context is reset.
END_HOOKS: list[EndHook] = []
#: Called by the timeout warning with the invocation about to time out, just before the warning is
#: logged (buffered logs and metrics get out before Lambda kills the process). It may run in a signal
#: handler on the main thread or in a timer thread: a hook must not wait on a lock.
TIMEOUT_HOOKS: list[TimeoutHook] = []


def add_start_hook(hook: Hook) -> None:
    """Register ``hook`` once (a second call with the same function does nothing)."""
    if hook not in INVOCATION_HOOKS:
        INVOCATION_HOOKS.append(hook)


def add_end_hook(hook: EndHook) -> None:
    """Register ``hook`` once (a second call with the same function does nothing)."""
    if hook not in END_HOOKS:
        END_HOOKS.append(hook)


def add_timeout_hook(hook: TimeoutHook) -> None:
    """Register ``hook`` once (a second call with the same function does nothing)."""
    if hook not in TIMEOUT_HOOKS:
        TIMEOUT_HOOKS.append(hook)


def before_timeout_warning(inv: Invocation) -> None:
    """Run the timeout hooks; a failing hook is skipped (the warning is best effort)."""
    for hook in TIMEOUT_HOOKS:
        try:
            hook(inv)
        except Exception:
            pass
