"""Finding the correlation id of an event."""

from __future__ import annotations

from typing import Any

__all__ = ["correlation_id"]

_COMPILED: dict[str, Any] = {}


def _auto(event: dict[str, Any]) -> str | None:
    context = event.get("requestContext")
    if isinstance(context, dict):
        if "elb" in context:  # ALB: the trace header the load balancer added
            headers = event.get("headers") or event.get("multiValueHeaders") or {}
            value = headers.get("x-amzn-trace-id") if isinstance(headers, dict) else None
            if isinstance(value, list):
                value = value[0] if value else None
            return str(value) if value else None
        request_id = context.get("requestId")  # API Gateway REST and HTTP APIs, function URLs
        return str(request_id) if request_id else None
    if "detail-type" in event and event.get("id"):  # EventBridge
        return str(event["id"])
    return None


def correlation_id(event: Any, path: str | None = None) -> str | None:
    """The event's correlation id: from ``path`` (JMESPath) if given, else by event shape."""
    if not isinstance(event, dict):
        return None
    if path is None:
        return _auto(event)
    expression = _COMPILED.get(path)
    if expression is None:
        import jmespath

        expression = _COMPILED[path] = jmespath.compile(path)
    value = expression.search(event)
    return None if value is None else str(value)
