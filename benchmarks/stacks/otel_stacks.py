"""The OpenTelemetry comparison's stacks, each in its own interpreter.

    python -m benchmarks.stacks.otel_stacks warm STACK DAEMON N BATCHES
    python -m benchmarks.stacks.otel_stacks cold STACK DAEMON
    python -m benchmarks.stacks.otel_stacks count STACK DAEMON N       # for callgrind
    python -m benchmarks.stacks.otel_stacks cold-count STACK DAEMON    # for callgrind

The workload is warm.py's: a handler with one span ("work") and one INFO log line.

- ``xray``: lambda_observe in its default mode (the reference for the otlp target).
- ``otlp``: lambda_observe with ``LAMBDA_OBSERVE_TRACER=otlp`` (no OpenTelemetry at run time).
- ``otel``: lambda_observe with ``LAMBDA_OBSERVE_TRACER=otel`` over the OpenTelemetry SDK, a
  BatchSpanProcessor (flushed by lambda_observe when the handler's span ends) and ADOT's
  ``OTLPUdpSpanExporter``: the same SDK set-up as the adot stack.
- ``adot``: the ADOT way, without lambda_observe: ``opentelemetry-instrumentation-aws-lambda``
  wrapping the handler, the SDK with a BatchSpanProcessor flushed by the instrumentation at the end
  of every invocation (as the ADOT layer configures it), ``OTLPUdpSpanExporter``, and a
  python-json-logger line carrying the trace id.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
from typing import Any

from benchmarks.stacks.common import (
    CPU_US,
    Context,
    lambda_environment,
    measure,
    new_header,
    plain_json_logger,
    runtime_imports,
    work,
)


def xray() -> Any:
    from benchmarks.stacks.warm import lambda_observe

    return lambda_observe()


def otlp() -> Any:
    os.environ["LAMBDA_OBSERVE_TRACER"] = "otlp"
    from benchmarks.stacks.warm import lambda_observe

    return lambda_observe()


def otel() -> Any:
    os.environ["LAMBDA_OBSERVE_TRACER"] = "otel"
    from amazon.opentelemetry.distro.otlp_udp_exporter import OTLPUdpSpanExporter
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPUdpSpanExporter(os.environ["AWS_XRAY_DAEMON_ADDRESS"])))
    trace.set_tracer_provider(provider)
    from benchmarks.stacks.warm import lambda_observe

    return lambda_observe()


#: An API Gateway REST proxy event with what the aws-lambda instrumentation reads (method, path,
#: headers, domain): without them it logs a WARNING per invocation about a missing ``http.method``.
EVENT = {
    "resource": "/orders",
    "path": "/orders",
    "httpMethod": "POST",
    "headers": {"Host": "api.example.com", "User-Agent": "bench"},
    "requestContext": {"requestId": "r-1", "domainName": "api.example.com", "httpMethod": "POST", "stage": "prod"},
    "body": "{}",
}

_ADOT_LOG: list[Any] = []
_ADOT_TRACER: list[Any] = []


def adot_handler(event: Any, context: Any) -> Any:
    """The ADOT stack's handler, wrapped by the aws-lambda instrumentation through ``_HANDLER``."""
    from opentelemetry import trace

    with _ADOT_TRACER[0].start_as_current_span("work"):
        result = work()
    span = trace.get_current_span().get_span_context()
    _ADOT_LOG[0].info(
        "handled",
        extra={
            "n": result,
            "function_request_id": context.aws_request_id,
            "trace_id": f"{span.trace_id:032x}",
            "span_id": f"{span.span_id:016x}",
        },
    )
    return result


def adot() -> Any:
    os.environ["_HANDLER"] = "benchmarks.stacks.otel_stacks.adot_handler"
    from amazon.opentelemetry.distro.otlp_udp_exporter import OTLPUdpSpanExporter
    from opentelemetry import metrics, trace
    from opentelemetry.instrumentation.aws_lambda import AwsLambdaInstrumentor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPUdpSpanExporter(os.environ["AWS_XRAY_DAEMON_ADDRESS"])))
    trace.set_tracer_provider(provider)
    # An SDK MeterProvider (no readers): its force_flush, called by the instrumentation after every
    # invocation, is cheap; without one the instrumentation logs a WARNING per invocation.
    metrics.set_meter_provider(MeterProvider())
    _ADOT_TRACER.append(trace.get_tracer("bench"))
    _ADOT_LOG.append(plain_json_logger("bench"))
    AwsLambdaInstrumentor().instrument(tracer_provider=provider, skip_dep_check=True)
    wrapped = getattr(sys.modules[__name__], "adot_handler")  # noqa: B009 - the wrapped function, looked up again
    if not hasattr(wrapped, "__wrapped__"):
        raise RuntimeError("the aws-lambda instrumentation did not wrap the ADOT stack's handler")
    return wrapped


def bare() -> Any:
    from benchmarks.stacks.warm import bare as make

    return make()


STACKS = {"bare": bare, "xray": xray, "otlp": otlp, "otel": otel, "adot": adot}


def main() -> None:
    mode, stack, daemon = sys.argv[1], sys.argv[2], sys.argv[3]
    sys.path.insert(0, os.getcwd())
    lambda_environment(daemon)
    if mode == "count":  # N invocations and exit, for instruction counting (the first one is the cold one)
        handler = STACKS[stack]()
        for _ in range(int(sys.argv[4])):
            os.environ["_X_AMZN_TRACE_ID"] = new_header()
            handler(EVENT, Context())
        return
    if mode == "cold-count":  # the cold start alone, for instruction counting: run it minus bare's
        runtime_imports()
        STACKS[stack]()(EVENT, Context())
        return
    if mode == "warm":
        handler = STACKS[stack]()
        results = measure(handler, int(sys.argv[4]), int(sys.argv[5]), EVENT)
        sys.stderr.write(json.dumps({"stack": stack, "batches_us": results, "cpu_batches_us": CPU_US}) + "\n")
        return
    runtime_imports()
    start = time.perf_counter()
    handler = STACKS[stack]()
    handler(EVENT, Context())
    elapsed = time.perf_counter() - start
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sys.stderr.write(json.dumps({"stack": stack, "seconds": elapsed, "rss_kb": rss_kb}) + "\n")


if __name__ == "__main__":
    # Run as a script this file is __main__, while _HANDLER names benchmarks.stacks.otel_stacks: the
    # aws-lambda instrumentation wraps the handler of that module, so the run happens in that one.
    importlib.import_module("benchmarks.stacks.otel_stacks").main()
