"""SnapStart: fresh entity ids in every environment restored from one snapshot.

Every environment restored from a snapshot starts from the same memory image, random state
included, so ids drawn from a pseudo-random generator would repeat across them. Under
``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`` the generator is reseeded from the OS after the
restore: by an ``after_restore`` hook when ``snapshot_restore_py`` (which the Python runtime
provides) is importable, and otherwise at the first invocation, before any id is drawn.
"""

from __future__ import annotations

import importlib

from ._invocation import init_type

__all__ = ["after_restore", "first_invocation", "prepare"]


class _State:
    prepared = False
    reseeded = False


def prepare() -> None:
    """At init (``@traced`` applied, the wrapper loading the handler): register the reseed hook.

    Does nothing outside SnapStart, and nothing the second time.
    """
    if _State.prepared:
        return
    _State.prepared = True
    if init_type() != "snap-start":
        return
    try:
        hooks = importlib.import_module("snapshot_restore_py")  # untyped; provided by the Python runtime
    except ImportError:
        return  # first_invocation() reseeds instead
    hooks.register_after_restore(after_restore)


def after_restore() -> None:
    """Reseed the id generator (runs in the restored environment, before its first invocation)."""
    from .tracing._span import reseed

    reseed()
    _State.reseeded = True


def first_invocation() -> None:
    """At the first invocation: reseed now if this is a SnapStart environment no hook reseeded."""
    if not _State.reseeded and init_type() == "snap-start":
        after_restore()


def reset() -> None:
    """Forget what was done (for tests)."""
    _State.prepared = _State.reseeded = False
