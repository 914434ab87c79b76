"""The mapping from lambda_observe's tracing model to OpenTelemetry, shared by ``otlp`` and ``otel``.

Plain data and small functions only: nothing here imports ``opentelemetry``. Both OTel modes
use the same kinds, attribute names and exception event, so moving from one to the other
changes where spans go, not what they say.

===========================  ==============================================================
lambda_observe               OpenTelemetry
===========================  ==============================================================
X-Ray ``Root=1-5f8a...``     trace id ``5f8a...`` (``1-`` and the dash removed)
X-Ray ``Parent=``            the handler span's (remote) parent span id
handler of an HTTP event     kind SERVER, ``faas.trigger=http``
handler of a queue / stream  kind CONSUMER, ``faas.trigger=pubsub``
``annotate(k, v)``           attribute ``k``; ``k`` listed in ``aws.xray.annotations``
``add_metadata(k, v, ns)``   attribute ``ns.k``; lists, dicts and other values as JSON text
an exception                 status ERROR and an ``exception`` event (type, message, stack)
the timeout warning          an ``lambda_observe.timeout`` event; status ERROR; span ended
===========================  ==============================================================
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..redact import Redactor

__all__ = [
    "ANNOTATIONS_KEY",
    "KIND_CONSUMER",
    "KIND_INTERNAL",
    "KIND_SERVER",
    "RESERVED",
    "TIMEOUT_EVENT",
    "clean_text",
    "exception_attributes",
    "handler_attributes",
    "metadata_key",
    "metadata_value",
    "resource_attributes",
    "resource_id",
    "trace_id_hex",
    "trace_ids",
    "trigger",
]

# OTLP SpanKind numbers (opentelemetry.trace.SpanKind is 0-based; OTLP's is 1-based).
KIND_INTERNAL = 1
KIND_SERVER = 2
KIND_CLIENT = 3
KIND_CONSUMER = 5
ANNOTATIONS_KEY = "aws.xray.annotations"
TIMEOUT_EVENT = "lambda_observe.timeout"
_MAX_FRAMES = 30

_PUBSUB_SOURCES = frozenset(
    {"aws:sqs", "aws:sns", "aws:kinesis", "aws:dynamodb", "aws:kafka", "aws:mq", "aws:rmq", "SelfManagedKafka"}
)


def trace_id_hex(root: str) -> str:
    """The OTel trace id of an X-Ray root: ``1-5f8aa8d2-1f0f...`` becomes ``5f8aa8d21f0f...``."""
    return root[2:10] + root[11:]


def trace_ids(root: str, parent: str | None) -> tuple[str, str | None] | None:
    """The OTel trace id and parent span id (hex) of an X-Ray header; None when either is all zeros.

    All-zero ids are invalid in OpenTelemetry; such a header is treated as a malformed one (untraced).
    A header without ``Parent`` gives ``(trace id, None)``: the handler's span is then a root span.
    """
    trace_id = trace_id_hex(root)
    if not trace_id.strip("0") or (parent is not None and not parent.strip("0")):
        return None
    return trace_id, parent or None


def trigger(event: Any) -> tuple[str, int]:
    """The ``faas.trigger`` value and the handler span's kind for an event, by its shape."""
    if isinstance(event, dict):
        context = event.get("requestContext")
        if isinstance(context, dict) and ("http" in context or "httpMethod" in context or "elb" in context):
            return "http", KIND_SERVER
        if "httpMethod" in event or "routeKey" in event:
            return "http", KIND_SERVER
        records = event.get("Records")
        if isinstance(records, list) and records and isinstance(records[0], dict):
            first = records[0]
            source = first.get("eventSource") or first.get("EventSource")
            if source in _PUBSUB_SOURCES:
                return "pubsub", KIND_CONSUMER
            if source == "aws:s3":
                return "datasource", KIND_SERVER
        if event.get("eventSource") in _PUBSUB_SOURCES:  # Kafka and MQ batches
            return "pubsub", KIND_CONSUMER
        if event.get("detail-type") == "Scheduled Event" or event.get("source") == "aws.scheduler":
            return "timer", KIND_SERVER
    return "other", KIND_SERVER


def resource_id(arn: str, version: str | None) -> str:
    """``cloud.resource_id`` per the semantic conventions: the function's ARN, any alias replaced by
    the version that runs (the same process serves every alias that points at that version)."""
    parts = arn.split(":")
    if len(parts) != 8 or parts[5] != "function" or not version:  # unqualified: already the function's ARN
        return arn
    return ":".join(parts[:7]) + ":" + version


def _account(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


_STATIC: dict[tuple[str, str, str, str], dict[str, Any]] = {}


def handler_attributes(inv: Any, faas_trigger: str) -> dict[str, Any]:
    """The FaaS and cloud attributes of the handler span, from the invocation."""
    key = (faas_trigger, inv.function_arn, inv.function_name, inv.function_version)
    static = _STATIC.get(key)
    if static is None:
        static = {
            "faas.trigger": faas_trigger,
            "faas.name": inv.function_name,
            "faas.version": inv.function_version,
            "cloud.provider": "aws",
            "cloud.platform": "aws_lambda",
        }
        region = os.environ.get("AWS_REGION")
        if region:
            static["cloud.region"] = region
        arn = inv.function_arn
        if arn:
            static["cloud.resource_id"] = resource_id(arn, inv.function_version)
            account = _account(arn)
            if account:
                static["cloud.account.id"] = account
        if len(_STATIC) < 64:
            _STATIC[key] = static
    return {"faas.invocation_id": inv.request_id, "faas.coldstart": inv.cold_start, **static}


def resource_attributes(service: str) -> dict[str, Any]:
    """The process's resource: the service and where it runs."""
    env = os.environ
    attributes: dict[str, Any] = {
        "service.name": service,
        "cloud.provider": "aws",
        "cloud.platform": "aws_lambda",
        "telemetry.sdk.name": "lambda_observe",
        "telemetry.sdk.language": "python",
    }
    for key, var in (
        ("cloud.region", "AWS_REGION"),
        ("faas.name", "AWS_LAMBDA_FUNCTION_NAME"),
        ("faas.version", "AWS_LAMBDA_FUNCTION_VERSION"),
    ):
        if env.get(var):
            attributes[key] = env[var]
    return attributes


_MODULES: list[Any] = []


def _load() -> list[Any]:
    """``_json`` and ``redact``, imported at first use (a function-level ``from .. import`` costs a
    trip through the import machinery on every call)."""
    from .. import _json, redact

    _MODULES[:] = [_json, redact]
    return _MODULES


def metadata_value(key: str, value: Any) -> str | bool | int | float:
    """A metadata value as an attribute, redacted as X-Ray metadata is: scalars as they are, text
    scrubbed, anything else rendered to JSON types, redacted by key at any depth, then JSON text."""
    json_module, redact = _MODULES or _load()
    engine: Redactor = redact.get()
    if engine.secret(key):
        hidden: str = redact.REDACTED
        return hidden
    if isinstance(value, str):
        return engine.text(value)
    if isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        return value if -(1 << 63) <= value < (1 << 63) else str(value)
    text: str = json_module.dumps(engine(json_module.safe(value)))
    return text


#: Attribute keys the mapping itself writes: metadata never overwrites or duplicates them.
RESERVED = frozenset(
    {
        "faas.invocation_id",
        "faas.coldstart",
        "faas.trigger",
        "faas.name",
        "faas.version",
        "cloud.provider",
        "cloud.platform",
        "cloud.region",
        "cloud.resource_id",
        "cloud.account.id",
        ANNOTATIONS_KEY,
        "lambda_observe.truncated",
    }
)


def metadata_key(namespace: str, key: str) -> str | None:
    """The attribute key of a metadata entry; None (with a warning, once) when it would collide with the mapping's."""
    name = f"{namespace}.{key}"
    if name in RESERVED:
        from .. import _warn

        _warn.once(
            f"otel-metadata-key-{name}",
            "lambda_observe: metadata %r in namespace %r would overwrite the span attribute %r; it is left out",
            key,
            namespace,
            name,
        )
        return None
    return name


def clean_text(text: str) -> str:
    """The one place OTel spans scrub free text (exception messages, stacks, URLs) before sending."""
    from .. import redact

    return redact.get().text(text)


def _error_text(exc: BaseException, text: str) -> str:
    """An exception's text scrubbed as X-Ray causes are: a database driver's quoted literals go too."""
    from .. import redact

    return redact.get().error_text(exc, text)


def exception_attributes(exc: BaseException, tb: TracebackType | None, escaped: bool = True) -> dict[str, Any]:
    """The ``exception`` event's attributes (OTel semantic conventions), scrubbed.

    ``escaped``: the exception left the span's scope (true for what the public API records: the
    handler's and a subsegment's exceptions propagate).
    """
    import traceback

    try:
        message = str(exc)[:4096]
    except Exception:
        message = f"<unprintable {type(exc).__name__}>"
    try:
        stack = "".join(traceback.format_exception(type(exc), exc, tb, limit=_MAX_FRAMES))
    except Exception:
        stack = ""
    return {
        "exception.type": type(exc).__qualname__,
        "exception.message": _error_text(exc, message),
        "exception.stacktrace": _error_text(exc, stack[:32768]),
        "exception.escaped": escaped,
    }
