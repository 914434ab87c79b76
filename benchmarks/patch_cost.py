"""What patching boto3 and requests adds at cold start, in both import orders (issue #17).

    PYTHONPATH=. python benchmarks/patch_cost.py [--runs 11]

Each sample is a fresh interpreter with the Lambda environment set; it times, with
``perf_counter``, from before the patching call (including importing what the call needs) to the
end of importing boto3 and requests in the given order. Reported: per stack and order, the median
over the runs and the median added over importing the same libraries unpatched (runs are
interleaved, so a noisy neighbour hits every stack alike). Our own package is byte-compiled first
and bytecode writing is allowed, as after a ``pip install``; a layer ships sources, and Lambda
compiles them at every cold start unless built with ``--compile``.

python benchmarks/patch_cost.py --init-trace measures init tracing instead: importing boto3 and
requests with LAMBDA_OBSERVE_TRACE_INIT on versus off.

python benchmarks/patch_cost.py --instructions counts, under callgrind, the instructions of one
sample per stack and order (whole interpreter, ``PYTHONHASHSEED=0``): the same work as the wall
and CPU tables, in a figure that does not move with the machine's load. User space only: the
kernel's side of the imports (stat, open, read) is not in it.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STACKS = ("unpatched", "lambda_observe", "sdk_patch", "sdk_patch_all", "powertools")
ORDERS = ("boto3,requests", "requests,boto3")
#: Counted under callgrind (``patch_all`` left out: its wall time alone is 30 times the others' added time).
COUNTED = ("unpatched", "lambda_observe", "sdk_patch", "powertools")


def _patch(stack: str) -> None:
    if stack == "lambda_observe":
        from lambda_observe import patch

        patch("boto3", "requests")
    elif stack == "sdk_patch":
        from aws_xray_sdk.core import patch as sdk_patch

        sdk_patch(["botocore", "requests"])
    elif stack == "sdk_patch_all":
        from aws_xray_sdk.core import patch_all

        patch_all()
    elif stack == "powertools":
        from aws_lambda_powertools import Tracer

        Tracer(service="bench", patch_modules=["boto3", "requests"])


def sample(stack: str, order: str) -> None:
    """In a fresh interpreter: print the milliseconds patching + importing took."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.stacks.common import lambda_environment

    lambda_environment("127.0.0.1:2000")
    start, cpu = time.perf_counter(), time.process_time()
    _patch(stack)
    for name in filter(None, order.split(",")):  # "": nothing imported (the instruction count's floor)
        __import__(name)
    print(json.dumps({"ms": (time.perf_counter() - start) * 1000, "cpu_ms": (time.process_time() - cpu) * 1000}))


def init_sample(on: bool) -> None:
    """In a fresh interpreter: import lambda_observe, boto3 and requests with init tracing on or off."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.stacks.common import lambda_environment

    lambda_environment("127.0.0.1:2000")
    if on:
        os.environ["LAMBDA_OBSERVE_TRACE_INIT"] = "true"
    start, cpu = time.perf_counter(), time.process_time()
    import lambda_observe  # noqa: F401, I001  (first: it starts the import timer when switched on)
    import boto3  # noqa: F401
    import requests  # noqa: F401

    print(json.dumps({"ms": (time.perf_counter() - start) * 1000, "cpu_ms": (time.process_time() - cpu) * 1000}))


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _run(args: list[str]) -> tuple[float, float]:
    """(wall ms, CPU ms) of one sample; CPU time is steadier on a shared machine."""
    out = subprocess.run(
        [sys.executable, str(Path(__file__)), *args], cwd=ROOT, env=_env(), capture_output=True, text=True, check=True
    )
    got = json.loads(out.stdout.splitlines()[-1])
    return float(got["ms"]), float(got["cpu_ms"])


def _instructions(args: list[str]) -> int:
    """Instructions (callgrind's ``Ir``) of one sample's whole interpreter, hash seed fixed."""
    env = _env()
    env["PYTHONHASHSEED"] = "0"
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, str(Path(__file__)), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    found = re.search(r"Collected\s*:\s*(\d+)", proc.stderr)
    if proc.returncode != 0 or found is None:
        raise RuntimeError(f"callgrind {args}: {proc.stderr[-2000:]}")
    return int(found.group(1))


def instructions() -> None:
    """Print the instruction-count table: added over unpatched, and as a share of the unpatched imports."""
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: no instruction counts (apt-get install valgrind).")
        return
    floor = _instructions(["--sample", "unpatched", ""])
    print("Instructions of one fresh interpreter per cell under callgrind (millions; repeatable to about 1M);")
    print("share = added / what importing boto3 and requests unpatched executes (that run minus an empty one).")
    print()
    print("| stack | order | instructions | added | share |")
    print("|---|---|---|---|---|")
    for order in ORDERS:
        base = _instructions(["--sample", "unpatched", order])
        for stack in COUNTED:
            got = base if stack == "unpatched" else _instructions(["--sample", stack, order])
            added, share = (got - base) / 1e6, (got - base) / (base - floor) * 100
            print(f"| {stack} | {order.replace(',', ' then ')} | {got / 1e6:.1f} | {added:+.1f} | {share:+.1f}% |")


def _med(values: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(v[0] for v in values), statistics.median(v[1] for v in values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--init-trace", action="store_true")
    parser.add_argument("--instructions", action="store_true")
    parser.add_argument("--sample", nargs=2)
    parser.add_argument("--init-sample")
    args = parser.parse_args()
    if args.sample:
        return sample(*args.sample)
    if args.init_sample:
        return init_sample(args.init_sample == "on")
    compileall.compile_dir(str(ROOT / "src" / "lambda_observe"), quiet=1)
    for stack in STACKS:  # warm the bytecode caches and the page cache once
        _run(["--sample", stack, ORDERS[0]])
    if args.instructions:
        return instructions()
    if args.init_trace:
        times: dict[str, list[tuple[float, float]]] = {"off": [], "on": []}
        for _ in range(args.runs):
            for mode in times:
                times[mode].append(_run(["--init-sample", mode]))
        (off, off_cpu), (on, on_cpu) = _med(times["off"]), _med(times["on"])
        print(f"Medians of {args.runs} fresh interpreters: import lambda_observe, boto3 and requests (ms).")
        print()
        print("| init tracing | wall | added | CPU | added |")
        print("|---|---|---|---|---|")
        print(f"| off | {off:.1f} | | {off_cpu:.1f} | |")
        added, added_cpu = (on - off) / off * 100, (on_cpu - off_cpu) / off_cpu * 100
        print(f"| on | {on:.1f} | {added:+.1f}% | {on_cpu:.1f} | {added_cpu:+.1f}% |")
        return None
    results: dict[tuple[str, str], list[tuple[float, float]]] = {(s, o): [] for s in STACKS for o in ORDERS}
    for _ in range(args.runs):
        for order in ORDERS:
            for stack in STACKS:
                results[(stack, order)].append(_run(["--sample", stack, order]))
    print(f"Medians of {args.runs} fresh interpreters per cell, Lambda environment set (ms).")
    print()
    print("| stack | order | wall | added | CPU | added |")
    print("|---|---|---|---|---|---|")
    for order in ORDERS:
        base, base_cpu = _med(results[("unpatched", order)])
        for stack in STACKS:
            med, cpu = _med(results[(stack, order)])
            print(
                f"| {stack} | {order.replace(',', ' then ')} | {med:.1f} | {med - base:+.1f} | "
                f"{cpu:.1f} | {cpu - base_cpu:+.1f} |"
            )
    return None


if __name__ == "__main__":
    main()
