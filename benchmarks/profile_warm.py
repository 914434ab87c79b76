"""Where lambda_observe's warm per-invocation time goes, part by part, against the floor's parts.

    PYTHONPATH=. python benchmarks/profile_warm.py      (run.py calls it and records the output)

Each part is timed in a loop in one process (median of repeats, microseconds per call); the
datagram part sends to a sink process, as in the warm benchmark.
"""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.stacks.common import Context, floor_line, lambda_environment, new_header  # noqa: E402


def per_call(fn, number: int = 20000) -> float:
    return statistics.median(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> None:
    sink = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.sink"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        measure_parts(sink)
    finally:
        sink.kill()


def measure_parts(sink: subprocess.Popen[str]) -> None:
    assert sink.stdout is not None
    address = sink.stdout.readline().strip()
    lambda_environment(address)
    from benchmarks.stacks.common import Unbuffered

    devnull = Unbuffered(open(os.devnull, "w"))  # noqa: SIM115  (as Lambda's runtime sets stdout up)
    real_stdout = sys.__stdout__
    sys.stdout = devnull

    from lambda_observe import _invocation, get_logger
    from lambda_observe.tracing import _state

    log = get_logger("profile")
    context = Context()
    header = new_header()
    os.environ["_X_AMZN_TRACE_ID"] = header

    def invocation() -> None:
        _, token = _invocation.begin(context)
        _invocation.end(token)

    backend = _state.backend()
    inv, token = _invocation.begin(context)
    root = backend.root(inv)
    emitter = backend.emitter  # type: ignore[attr-defined]
    address_tuple = emitter._address

    def span_no_send() -> None:
        emitter._address = None
        s = backend.start("work", root)
        backend.finish(s)

    def span_and_send() -> None:
        emitter._address = address_tuple
        s = backend.start("work", root)
        backend.finish(s)

    def log_line() -> None:
        log.info("handled", extra={"n": 1})

    def floor_log_line() -> None:  # the same keys as lambda_observe's line, as the warm floor writes them
        devnull.write(floor_line(context, "1-x", "r-1", False, 1))

    record = logging.LogRecord("profile", logging.INFO, __file__, 1, "handled", (), None)

    def stdlib_record_only() -> None:
        logging.LogRecord("profile", logging.INFO, __file__, 1, "handled", (), None)

    formatter = logging.getLogger().handlers[0].formatter
    assert formatter is not None

    def format_only() -> None:
        formatter.format(record)

    parts = {
        "invocation begin/end (header parse, context, cold start)": per_call(invocation),
        "one subsegment start + finish, not sent": per_call(span_no_send),
        "one subsegment start + finish + datagram (tight loop)": per_call(span_and_send),
        "one log line through stdlib logging + our formatter": per_call(log_line),
        "  of which: creating the LogRecord (stdlib)": per_call(stdlib_record_only),
        "  of which: formatting (our formatter, orjson)": per_call(format_only),
        "the floor's log line (json.dumps + write)": per_call(floor_log_line),
    }
    _invocation.end(token)
    sys.stdout = real_stdout
    print("| part | µs per call |")
    print("|---|---|")
    for name, value in parts.items():
        print(f"| {name} | {value:.1f} |")


if __name__ == "__main__":
    main()
