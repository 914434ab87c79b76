"""Light patchers for botocore and requests: plain function wrappers, no X-Ray SDK, no wrapt.

These two libraries are what most functions call, so their patchers sit on the cold path:
importing the SDK's recorder and wrapt would cost tens of milliseconds at the first import of
boto3 or requests. These wrappers build our own :class:`~._span.Span` with the fields the
SDK's patchers fill (``aws`` with operation, region, request id and the SDK's whitelisted
parameters; ``http`` with method, URL and status) and pass the trace header downstream.

The other libraries keep the SDK's patchers (see :mod:`lambda_observe.tracing.patching`).

``patch()`` imports this module before the libraries, so its import costs next to nothing:
what only a traced call needs (the span class, the SDK's parameter table and its JSON reader,
the key regexes) is loaded by the first traced call (issue #17).
"""

from __future__ import annotations

import functools
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeGuard

from .. import _warn
from . import _context, _state

if TYPE_CHECKING:
    from ._span import Span

__all__ = ["PATCHERS"]

_FLAG = "_lambda_observe_light"
_TRACE_HEADER = "X-Amzn-Trace-Id"
_SKIP_XRAY = frozenset({"GetSamplingRules", "GetSamplingTargets", "PutTraceSegments"})
_WHITELIST: list[dict[str, Any]] = []


def _fail(what: str, exc: BaseException) -> None:
    _warn.once(f"light-{what}", "lambda_observe: tracing %s failed and was skipped: %r", what, exc)


def _parent() -> Any:
    parent = _context.current()
    if parent is None or not getattr(parent, "sampled", False):
        return None
    return parent


def _is_span(span: object) -> TypeGuard[Span]:
    """Whether ``span`` is our own span (a backend installed with ``use()`` may make others).

    Asked only after the backend made ``span``, so :mod:`._span` is loaded by then."""
    from ._span import Span

    return isinstance(span, Span)


def _header(entity: Any) -> str:
    return f"Root={entity.trace_id};Parent={entity.id};Sampled=1"


def _status_flags(span: Span, status: object) -> None:
    if not isinstance(status, int):
        return
    if status >= 500:
        span.fault = True
    elif status == 429:
        span.throttle = span.error = True
    elif status >= 400:
        span.error = True


def _begin(name: str, parent: Any, namespace: str) -> tuple[Any, Any]:
    backend = _state.backend()
    span = backend.start(name, parent, namespace)
    return span, _context.push(span)


def _end(span: Any, token: Any) -> None:
    _context.reset(token)
    _state.backend().finish(span)


# ---- botocore -----------------------------------------------------------------------------


def _whitelist() -> dict[str, Any]:
    """The SDK's table of AWS parameters worth recording (read once, without importing the SDK)."""
    if not _WHITELIST:
        table: dict[str, Any] = {}
        try:
            import importlib.util
            import json
            import os

            spec = importlib.util.find_spec("aws_xray_sdk")
            if spec is not None and spec.origin:
                path = os.path.join(os.path.dirname(spec.origin), "ext", "resources", "aws_para_whitelist.json")
                with open(path, encoding="utf-8") as fh:
                    table = json.load(fh).get("services", {})
        except Exception as exc:  # without it, calls are still traced, with fewer fields
            _fail("aws-parameters", exc)
        _WHITELIST.append(table)
    return _WHITELIST[0]


def _snake(key: str) -> str:
    import re  # re's own cache keeps the two patterns compiled

    return re.sub("([a-z0-9])([A-Z])", r"\1_\2", re.sub("(.)([A-Z][a-z]+)", r"\1_\2", key)).lower()


def _record(rules: dict[str, Any], source: Any, meta: dict[str, Any]) -> None:
    if not isinstance(source, dict):
        return
    for key in rules.get("names", ()):
        if key in source:
            meta[_snake(key)] = source[key]
    for key, how in rules.get("descriptors", {}).items():
        if key in source:
            value = source[key]
            if how.get("get_count"):
                value = len(value)
            if how.get("get_keys"):
                value = list(value)
            meta[how["rename_to"]] = value


#: The ``aws`` fields the X-Ray schema types as strings: a parameter of another type (which the service
#: refuses anyway) is left out, so it cannot make the whole document invalid.
_STRING_FIELDS = ("operation", "account_id", "region", "request_id", "queue_url", "table_name")


def _aws_fields(service: str, operation: str, params: Any, response: Any, meta: dict[str, Any]) -> None:
    rules = _whitelist().get(service, {}).get("operations", {}).get(operation)
    if not rules:
        return
    _record(
        {"names": rules.get("request_parameters", ()), "descriptors": rules.get("request_descriptors", {})},
        params,
        meta,
    )
    if response:
        _record(
            {"names": rules.get("response_parameters", ()), "descriptors": rules.get("response_descriptors", {})},
            response,
            meta,
        )
    for key in _STRING_FIELDS:
        if key in meta and not isinstance(meta[key], str):
            del meta[key]


def _make_api_call(wrapped: Any) -> Any:
    @functools.wraps(wrapped)
    def traced_call(self: Any, operation_name: str, api_params: Any) -> Any:
        parent = _parent()
        if parent is None:
            return wrapped(self, operation_name, api_params)
        try:
            service = self._service_model.metadata["endpointPrefix"]
            if service == "xray" and operation_name in _SKIP_XRAY:
                return wrapped(self, operation_name, api_params)
            span, token = _begin(service, parent, "aws")
        except Exception as exc:
            _fail("botocore", exc)
            return wrapped(self, operation_name, api_params)
        response: Any = None
        try:
            response = wrapped(self, operation_name, api_params)
            return response
        except Exception as exc:
            _aws_error(span, exc)
            raise
        finally:
            try:
                _aws_done(span, self, service, operation_name, api_params, response)
            except Exception as exc:
                _fail("botocore", exc)
            _end(span, token)

    return traced_call


def _aws_error(span: Any, exc: Exception) -> None:
    if not _is_span(span):
        return
    try:
        span.record_exception(exc, exc.__traceback__)
        meta = getattr(exc, "response", None)
        meta = meta.get("ResponseMetadata") if isinstance(meta, dict) else None
        if isinstance(meta, dict):
            span.aws = {"request_id": meta.get("RequestId")}
            status = meta.get("HTTPStatusCode")
            if isinstance(status, int):
                span.http = {"response": {"status": status}}
                if status < 500:  # the service answered: a client error, not a fault
                    span.fault = False
                _status_flags(span, status)
            for entry in span.cause.get("exceptions", ()) if isinstance(span.cause, dict) else ():
                entry["remote"] = True
    except Exception as err:
        _fail("botocore", err)


def _aws_done(span: Any, client: Any, service: str, operation: str, params: Any, response: Any) -> None:
    if not _is_span(span):
        return
    meta: dict[str, Any] = {"operation": operation, "region": client.meta.region_name}
    if span.aws:
        meta.update(span.aws)
    if isinstance(response, dict):
        resp = response.get("ResponseMetadata")
        if isinstance(resp, dict):
            meta["request_id"] = resp.get("RequestId")
            status = resp.get("HTTPStatusCode")
            if isinstance(status, int):
                span.http = {"response": {"status": status}}
                _status_flags(span, status)
            amz_id = (resp.get("HTTPHeaders") or {}).get("x-amz-id-2")
            if amz_id:
                meta["id_2"] = amz_id
    _aws_fields(service, operation, params, response, meta)
    span.aws = meta


def _prepare_request(wrapped: Any) -> Any:
    @functools.wraps(wrapped)
    def with_header(self: Any, request: Any) -> Any:
        try:
            entity = _parent()
            if entity is not None and "Sampling" not in str(getattr(request, "url", "")):
                request.headers[_TRACE_HEADER] = _header(entity)
        except Exception as exc:
            _fail("botocore-header", exc)
        return wrapped(self, request)

    return with_header


def patch_botocore_client(module: ModuleType) -> None:
    """Wrap ``botocore.client.BaseClient._make_api_call`` (a subsegment per call).

    Runs as soon as ``botocore.client`` has executed, from whichever thread imported it, and
    touches only that module's objects: it imports nothing, so it cannot meet another thread's
    import half-way (issue #17: importing from inside an import deadlocked or saw half modules).
    """
    client = module.BaseClient
    if getattr(client._make_api_call, _FLAG, False):
        return
    call = _make_api_call(client._make_api_call)
    setattr(call, _FLAG, True)
    client._make_api_call = call


def patch_botocore_endpoint(module: ModuleType) -> None:
    """Wrap ``botocore.endpoint.Endpoint.prepare_request`` (the trace header on the request)."""
    endpoint = module.Endpoint
    if getattr(endpoint.prepare_request, _FLAG, False):
        return
    prepare = _prepare_request(endpoint.prepare_request)
    setattr(prepare, _FLAG, True)
    endpoint.prepare_request = prepare


# ---- requests -----------------------------------------------------------------------------


def _ignored(url: str) -> bool:
    patterns = getattr(getattr(_state.backend(), "emitter", None), "ignore", ())
    if not patterns:
        return False
    from ._scrub import ignored

    return ignored({"http": {"request": {"url": url}}}, patterns)


def _session_request(wrapped: Any) -> Any:
    @functools.wraps(wrapped)
    def traced_request(self: Any, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        parent = _parent()
        if parent is None:
            return wrapped(self, method, url, *args, **kwargs)
        try:
            from urllib.parse import urlsplit

            from ._scrub import clean_url

            text = url.decode() if isinstance(url, bytes) else str(url)
            if _ignored(text):
                return wrapped(self, method, url, *args, **kwargs)
            host = urlsplit(text).hostname or "UNKNOWN HOST"
            span, token = _begin(host, parent, "remote")
            if _is_span(span):
                span.http = {"request": {"method": str(method).upper(), "url": clean_url(text.partition("?")[0])}}
        except Exception as exc:
            _fail("requests", exc)
            return wrapped(self, method, url, *args, **kwargs)
        try:
            response = wrapped(self, method, url, *args, **kwargs)
        except BaseException as exc:  # KeyboardInterrupt, gevent.Timeout too: the span still ends
            if _is_span(span) and isinstance(exc, Exception):
                span.record_exception(exc, exc.__traceback__)
            _end(span, token)
            raise
        try:
            status = getattr(response, "status_code", None)
            if _is_span(span) and isinstance(status, int) and span.http is not None:
                span.http["response"] = {"status": status}
                _status_flags(span, status)
        except Exception as exc:
            _fail("requests", exc)
        _end(span, token)
        return response

    return traced_request


def _prepare(wrapped: Any) -> Any:
    @functools.wraps(wrapped)
    def with_header(self: Any, request: Any) -> Any:
        prepared = wrapped(self, request)
        try:
            entity = _parent()
            if entity is not None and getattr(entity, "namespace", None) == "remote":
                prepared.headers[_TRACE_HEADER] = _header(entity)
        except Exception as exc:
            _fail("requests-header", exc)
        return prepared

    return with_header


def patch_requests(module: ModuleType) -> None:
    """Wrap ``requests.sessions.Session.request`` (a subsegment per call) and
    ``Session.prepare_request`` (the header); imports nothing (see :func:`patch_botocore_client`)."""
    session = module.Session
    if getattr(session.request, _FLAG, False):
        return
    call = _session_request(session.request)
    setattr(call, _FLAG, True)
    session.request = call
    session.prepare_request = _prepare(session.prepare_request)


#: SDK patcher name -> {the exact module each light patcher needs: the patcher, given that module}.
#: Each runs when its own module has executed, so none imports anything.
PATCHERS: dict[str, dict[str, Any]] = {
    "botocore": {"botocore.client": patch_botocore_client, "botocore.endpoint": patch_botocore_endpoint},
    "requests": {"requests.sessions": patch_requests},
}
