"""``patch()``: trace only the libraries the user names.

Patching is deferred: a library that is not imported yet is patched when the user's code
imports it (a post-import hook, :mod:`._post_import`), so ``patch("boto3")`` does not import
botocore itself, and ``patch()`` imports neither the X-Ray SDK nor wrapt. botocore and requests
get light patchers of our own (:mod:`._light`); the other libraries get the X-Ray SDK's, which
are imported only when such a library is. Each patcher is applied at most once.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from .. import _warn, config

__all__ = ["SUPPORTED", "patch", "patched"]

#: The SDK patcher name -> the module whose import triggers it.
SUPPORTED: dict[str, str] = {
    "aiobotocore": "aiobotocore",
    "botocore": "botocore",
    "httplib": "http.client",
    "httpx": "httpx",
    "mysql": "mysql.connector",
    "pg8000": "pg8000",
    "psycopg": "psycopg",
    "psycopg2": "psycopg2",
    "pymongo": "pymongo",
    "pymysql": "pymysql",
    "pynamodb": "pynamodb",
    "requests": "requests",
    "sqlalchemy_core": "sqlalchemy",
    "sqlite3": "sqlite3",
}

#: What users type -> the SDK patcher name.
ALIASES: dict[str, str] = {
    "boto3": "botocore",
    "aioboto3": "aiobotocore",
    "http.client": "httplib",
    "urllib": "httplib",
    "mysql-connector": "mysql",
    "mysql_connector": "mysql",
    "mysql.connector": "mysql",
    "mysql-connector-python": "mysql",
    "psycopg3": "psycopg",
    "sqlalchemy": "sqlalchemy_core",
}

#: Libraries traced only in the OTel modes (OpenTelemetry has an instrumentation, X-Ray's SDK no patcher).
OTEL_ONLY: dict[str, str] = {"redis": "redis", "urllib3": "urllib3"}

_REQUESTED: set[str] = set()
_APPLIED: set[str] = set()
#: Light patchers' parts applied so far, by module name (botocore has two: client and endpoint).
_PARTS: set[str] = set()
#: Guards only the check-and-claim of the sets above; never held while patching or importing.
_CLAIM = threading.Lock()


def _claim(done: set[str], key: str) -> bool:
    with _CLAIM:
        if key in done:
            return False
        done.add(key)
        return True


def _canonical(name: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"patch() takes library names as strings, not {type(name).__name__}")
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in SUPPORTED and key not in OTEL_ONLY:
        names = ", ".join(sorted({*SUPPORTED, *ALIASES, *OTEL_ONLY}))
        raise ValueError(f"unknown module {name!r} for patch(); supported: {names}")
    return key


def _patch_psycopg() -> None:
    """The SDK's psycopg patcher, plus ``conn.execute()`` and ``with connect() as conn``.

    The SDK's patcher also wraps psycopg_pool and fails without it: wrap what is there. Its
    connection proxy traces only ``conn.cursor().execute()``: psycopg 3's ``conn.execute()``
    (which makes its cursor on the real connection) and the connection that ``with`` gives were
    not traced at all.
    """
    import wrapt
    from aws_xray_sdk.ext.dbapi2 import XRayTracedConn
    from aws_xray_sdk.ext.psycopg.patch import _xray_traced_connect

    class Psycopg3Conn(XRayTracedConn):  # type: ignore[misc]
        def execute(self, query: Any, params: Any = None, *, prepare: Any = None, binary: bool = False) -> Any:
            cursor = self.cursor()
            if binary:
                from psycopg.pq import Format

                cursor.format = Format.BINARY
            return cursor.execute(query, params, prepare=prepare)

        def __enter__(self) -> Any:
            value = self.__wrapped__.__enter__()
            return self if value is self.__wrapped__ else value

    def traced_connect(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        conn = _xray_traced_connect(wrapped, instance, args, kwargs)
        return Psycopg3Conn(conn.__wrapped__, conn._xray_meta)

    wrapt.wrap_function_wrapper("psycopg", "connect", traced_connect)
    if importlib.util.find_spec("psycopg_pool") is not None:
        wrapt.wrap_function_wrapper("psycopg_pool.pool", "ConnectionPool._connect", traced_connect)


_OWN_PATCHERS = {"psycopg": _patch_psycopg}


def _apply(sdk_name: str) -> None:
    """The hook on the library's top module: OpenTelemetry's instrumentation, or the SDK's patcher.

    botocore and requests in X-Ray mode are left to :func:`_apply_light`'s hooks, which run
    when the exact submodule they wrap has executed and import nothing.
    """
    if sdk_name in _APPLIED:
        return
    try:
        from . import _state

        light = _state.light()
        if light is None or (light and sdk_name in _LIGHT):  # tracing off; or the light hooks' library
            return
        from ._backend import NoopBackend

        active = _state.backend()  # an SDK patcher or an OTel instrumentation: they need the backend now
        if isinstance(active, NoopBackend):  # its tracer unavailable: patch nothing
            return
        instrument = getattr(active, "instrument", None)
        if instrument is None and sdk_name in _LIGHT:
            return
        if not _claim(_APPLIED, sdk_name):
            return
    except Exception as exc:
        _warn.once(f"patch-{sdk_name}", "lambda_observe: could not patch %s: %s", sdk_name, exc)
        return
    try:
        if instrument is not None:  # an OTel mode: OpenTelemetry's instrumentation, never the X-Ray SDK
            instrument(sdk_name)
            return
        if sdk_name in OTEL_ONLY:
            raise ValueError("traced only with LAMBDA_OBSERVE_TRACER=otlp or otel")
        from . import _sdk_bridge

        _sdk_bridge.install()
        module = SUPPORTED[sdk_name]
        parent, _, child = module.rpartition(".")
        if parent and parent in sys.modules and module in sys.modules:
            # Called from the import hook, before the import system binds the submodule to its parent.
            setattr(sys.modules[parent], child, sys.modules[module])
        own = _OWN_PATCHERS.get(sdk_name)
        if own is not None:
            own()
            return
        from aws_xray_sdk.core import patch as sdk_patch

        sdk_patch([sdk_name], raise_errors=True)
    except Exception as exc:
        with _CLAIM:
            _APPLIED.discard(sdk_name)
        _warn.once(f"patch-{sdk_name}", "lambda_observe: could not patch %s: %s", sdk_name, exc)


def _apply_light(sdk_name: str, module_name: str, module: ModuleType) -> None:
    """Apply one part of a light patcher to the module it wraps (X-Ray mode only); imports nothing.

    The backend is not built here: the wrappers reach it at their first traced call.
    """
    from . import _light, _state  # already imported by patch(): no import happens here

    try:
        if not _state.light():  # tracing off, or an OTel mode (_apply's hook on the top module instruments it)
            return
        if not _claim(_PARTS, module_name):
            return
        try:
            _light.PATCHERS[sdk_name][module_name](module)
        except Exception:
            with _CLAIM:
                _PARTS.discard(module_name)
            raise
        with _CLAIM:
            if all(part in _PARTS for part in _light.PATCHERS[sdk_name]):
                _APPLIED.add(sdk_name)
    except Exception as exc:
        _warn.once(f"patch-{sdk_name}", "lambda_observe: could not patch %s: %s", sdk_name, exc)


#: The libraries with light patchers (:mod:`._light`), and the modules those wrap.
_LIGHT: dict[str, tuple[str, ...]] = {
    "botocore": ("botocore.client", "botocore.endpoint"),
    "requests": ("requests.sessions",),
}


def _on_import(sdk_name: str) -> Callable[[ModuleType], None]:
    def hook(module: ModuleType) -> None:
        _apply(sdk_name)

    return hook


def _on_light_import(sdk_name: str, module_name: str) -> Callable[[ModuleType], None]:
    def hook(module: ModuleType) -> None:
        _apply_light(sdk_name, module_name, module)

    return hook


def _check_otel_only(wanted: list[str]) -> None:
    """``redis`` and ``urllib3`` have no X-Ray patcher: refuse them now when X-Ray is the tracer.

    The tracer is known here: ``LAMBDA_OBSERVE_TRACER`` (read now), ``use_tracer()`` or an
    installed backend. Choose an OTel tracer before calling ``patch("redis")``.
    """
    otel_only = [name for name in wanted if name in OTEL_ONLY]
    if not otel_only:
        return
    from . import _state

    installed = _state._BACKEND[0] if _state._BACKEND else None
    if getattr(installed, "instrument", None) is not None or _state.tracer_name() in ("otlp", "otel"):
        return
    raise ValueError(
        f"patch({', '.join(map(repr, otel_only))}): traced only in the OTel modes (LAMBDA_OBSERVE_TRACER=otlp or"
        " otel, or use_tracer(), chosen before patch()); X-Ray's SDK has no patcher for "
        + ("it" if len(otel_only) == 1 else "them")
    )


def patch(*names: str, ignore: Iterable[str] = ()) -> None:
    """Trace calls made through the named libraries, and no others.

    ``patch("boto3", "requests")``. Names are those of :data:`SUPPORTED` or their aliases
    (``boto3`` means botocore, ``aioboto3`` aiobotocore, ``sqlalchemy`` sqlalchemy_core, ...).
    ``ignore`` takes host or URL patterns (``"*.internal"``, ``"*/health"``) whose calls are
    not sent; ``LAMBDA_OBSERVE_PATCH_IGNORE`` does the same from the environment.

    Raises :class:`ValueError` for an unknown name, and for ``redis`` or ``urllib3`` when the
    tracer is X-Ray (they are traced only in the OTel modes), before patching anything. A supported
    library that is not installed is reported once at WARNING here and otherwise ignored.
    With tracing switched off nothing is patched.
    """
    wanted = [_canonical(n) for n in names]
    _check_otel_only(wanted)
    patterns = (ignore,) if isinstance(ignore, str) else tuple(p for p in ignore)  # one pattern, not its letters
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern:
            raise ValueError(f"patch(ignore=...) takes host or URL patterns as strings, got {pattern!r}")
    if not config.get().tracing:
        import logging

        logging.getLogger("lambda_observe").debug(
            "lambda_observe: tracing is off; patch(%s) does nothing", ", ".join(wanted)
        )
        return
    from . import _state

    if not _state.tracer_valid():  # the error itself is logged at the first invocation
        _warn.once(
            "patch-no-tracer",
            "lambda_observe: LAMBDA_OBSERVE_TRACER=%r is not a tracer, so tracing is off; patch(%s) patches nothing",
            _state.tracer_name(),
            ", ".join(wanted),
        )
        return
    if patterns:
        active = _state.backend()
        holder = getattr(active, "emitter", None) or active  # otlp / xray: the emitter; otel: the backend
        if hasattr(holder, "ignore"):
            holder.ignore = tuple(dict.fromkeys((*holder.ignore, *patterns)))
    for sdk_name in wanted:
        if sdk_name in _REQUESTED:
            continue
        module = SUPPORTED.get(sdk_name) or OTEL_ONLY[sdk_name]
        top = module.split(".")[0]
        if top not in sys.modules and importlib.util.find_spec(top) is None:
            _warn.once(
                f"patch-missing-{sdk_name}",
                "lambda_observe: patch(%r): %s is not installed, so there is nothing to trace",
                sdk_name,
                top,
            )
            continue
        _REQUESTED.add(sdk_name)
        from ._post_import import when_imported

        if sdk_name in _LIGHT:
            from . import _light, _state  # noqa: F401  (now, so the hooks import nothing: issue #17)

            for part in _LIGHT[sdk_name]:
                when_imported(part, _on_light_import(sdk_name, part))
        when_imported(module, _on_import(sdk_name))


def patched() -> frozenset[str]:
    """The SDK patcher names applied so far in this process."""
    return frozenset(_APPLIED)
