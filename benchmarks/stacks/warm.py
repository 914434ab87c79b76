"""One warm-benchmark stack in its own interpreter: python -m benchmarks.stacks.warm STACK DAEMON N BATCHES

Workload: a handler with one subsegment and one INFO log line carrying the request context;
segments go over real UDP to a sink process; log lines go to stdout (redirected to /dev/null).
"""

from __future__ import annotations

import json
import sys

from benchmarks.stacks.common import CPU_US, floor_line, lambda_environment, measure, plain_json_logger, work


def bare():
    def handler(event, context):
        return work()

    return handler


def lambda_observe():
    from lambda_observe import get_logger, subsegment, traced

    log = get_logger("bench")

    @traced
    def handler(event, context):
        with subsegment("work"):
            result = work()
        log.info("handled", extra={"n": result})
        return result

    return handler


def powertools():
    from aws_lambda_powertools import Logger, Tracer

    tracer = Tracer(service="bench")
    logger = Logger(service="bench")

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    def handler(event, context):
        with tracer.provider.in_subsegment("work"):
            result = work()
        logger.info("handled", extra={"n": result})
        return result

    return handler


def raw_sdk():
    from aws_xray_sdk.core import xray_recorder

    log = plain_json_logger("bench")

    def handler(event, context):
        with xray_recorder.in_subsegment("## handler"):
            with xray_recorder.in_subsegment("work"):
                result = work()
            log.info("handled", extra={"n": result, "function_request_id": context.aws_request_id})
        return result

    return handler


def floor():
    """Hand-written: parse the header, build the same two documents (with the same annotations and
    response metadata), send one datagram each, and write one JSON line with the same keys."""
    import binascii
    import os
    import socket
    import time

    host, port = os.environ["AWS_XRAY_DAEMON_ADDRESS"].split(":")
    address = (host, int(port))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    header = b'{"format":"json","version":1}\n'
    out = sys.stdout
    dumps = json.dumps
    cold = [True]

    def send(doc):
        sock.sendto(header + dumps(doc, separators=(",", ":")).encode(), address)

    def handler(event, context):
        parts = dict(p.split("=", 1) for p in os.environ["_X_AMZN_TRACE_ID"].split(";"))
        root, parent = parts["Root"], parts["Parent"]
        cold_start, cold[0] = cold[0], False
        top = {
            "id": binascii.b2a_hex(os.urandom(8)).decode(),
            "name": "## handler",
            "start_time": time.time(),
            "trace_id": root,
            "parent_id": parent,
            "type": "subsegment",
            "annotations": {"ColdStart": cold_start, "Service": "bench"},
        }
        sub = {
            "id": binascii.b2a_hex(os.urandom(8)).decode(),
            "name": "work",
            "start_time": time.time(),
            "trace_id": root,
            "parent_id": top["id"],
            "type": "subsegment",
        }
        result = work()
        sub["end_time"] = time.time()
        send(sub)
        out.write(floor_line(context, root, event["requestContext"]["requestId"], cold_start, result))
        top["metadata"] = {"bench": {"handler response": result}}
        top["end_time"] = time.time()
        send(top)
        return result

    return handler


def lambda_observe_stdlib_json():
    """lambda_observe without orjson installed (the default layer): stdlib json everywhere."""
    sys.modules["orjson"] = None  # type: ignore[assignment]
    return lambda_observe()


STACKS = {
    "bare": bare,
    "lambda_observe": lambda_observe,
    "lambda_observe_stdlib_json": lambda_observe_stdlib_json,
    "powertools": powertools,
    "raw_sdk": raw_sdk,
    "floor": floor,
}


def main() -> None:
    stack, daemon, invocations, batches = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    lambda_environment(daemon)
    handler = STACKS[stack]()
    results = measure(handler, invocations, batches)
    sys.stderr.write(json.dumps({"stack": stack, "batches_us": results, "cpu_batches_us": CPU_US}) + "\n")


if __name__ == "__main__":
    main()
