"""What every comparison shares: the interpreter and environment each stack runs in, the worker
processes, the UDP sink, and the counters (callgrind, strace)."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: Issue #17's warm targets: overhead at most this much Powertools' and the hand-written floor's.
POWERTOOLS_TARGET = 0.25
FLOOR_TARGET = 1.15
ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
#: Every stack imports compiled bytecode, as an installed package does (pip compiles what it installs):
#: PYTHONDONTWRITEBYTECODE, set on some machines, would leave lambda_observe's editable sources compiled
#: at every cold start while the peers load their .pyc. ``compiled()`` writes ours before a run.
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, "PYTHONPATH": str(ROOT)}


def compiled() -> None:
    """Compile lambda_observe's sources and the benchmark stacks to .pyc, as an installed package has them."""
    import compileall

    for folder in (ROOT / "src" / "lambda_observe", ROOT / "benchmarks"):
        compileall.compile_dir(str(folder), quiet=1)


#: The warm comparison's stacks, in the order they run and are reported.
WARM_STACKS = ("bare", "floor", "lambda_observe", "lambda_observe_stdlib_json", "raw_sdk", "powertools")


def worker(args: list[str], stdout: Any = subprocess.DEVNULL) -> dict[str, Any]:
    proc = subprocess.run([PY, "-m", *args], cwd=ROOT, env=ENV, stdout=stdout, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{args}: {proc.stderr}")
    return json.loads(proc.stderr.strip().splitlines()[-1])  # type: ignore[no-any-return]


def stats(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


class Sink:
    """The UDP sink process."""

    def __enter__(self) -> Sink:
        self.proc = subprocess.Popen(
            [PY, "-m", "benchmarks.sink"], cwd=ROOT, env=ENV, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.address = self.proc.stdout.readline().strip()
        return self

    def __exit__(self, *exc: object) -> None:
        host, port = self.address.split(":")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"stop", (host, int(port)))
        self.proc.wait(timeout=10)


def _round_ratios(per_round: list[dict[str, float]]) -> dict[str, Any]:
    ratios: dict[str, Any] = {}
    for s in WARM_STACKS:
        vs_pt = [(x[s] - x["bare"]) / (x["powertools"] - x["bare"]) for x in per_round]
        vs_floor = [(x[s] - x["bare"]) / (x["floor"] - x["bare"]) for x in per_round]
        ratios[s] = {"vs_powertools": stats(vs_pt), "vs_floor": stats(vs_floor)}
    return ratios


def callgrind(module_args: list[str]) -> int:
    """Instructions executed by ``python -m MODULE ARGS`` under valgrind's callgrind."""
    return callgrind_events(module_args)["Ir"]


def callgrind_events(module_args: list[str], simulate: bool = False) -> dict[str, int]:
    """callgrind's event totals for ``python -m MODULE ARGS``: ``Ir`` (instructions), and with ``simulate``
    its cache and branch-predictor model's counts too (``D1mr``, ``Bcm``, ...)."""
    import re

    sim = ["--cache-sim=yes", "--branch-sim=yes"] if simulate else []
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", *sim, "--callgrind-out-file=/dev/null", PY, "-m", *module_args],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    names = re.search(r"Events\s*:\s*(.+)", proc.stderr)
    values = re.search(r"Collected\s*:\s*(.+)", proc.stderr)
    if proc.returncode != 0 or names is None or values is None:
        raise RuntimeError(f"callgrind {module_args}: {proc.stderr[-2000:]}")
    return dict(zip(names.group(1).split(), map(int, values.group(1).split()), strict=True))


def _simulated(per: dict[str, float]) -> dict[str, float]:
    """Cache misses, branch mispredictions and an estimated cycle count from callgrind's simulation.

    Estimated cycles: L1 hits + 5 x last-level hits + 35 x memory accesses, the weighting Itamar
    Turner-Trauring proposed for consistent benchmarking in CI (pythonspeed.com); mispredictions apart."""
    accesses = per["Ir"] + per["Dr"] + per["Dw"]
    l1 = per["I1mr"] + per["D1mr"] + per["D1mw"]
    ll = per["ILmr"] + per["DLmr"] + per["DLmw"]
    return {
        "l1_misses": l1,
        "ll_misses": ll,
        "mispredicts": per["Bcm"] + per["Bim"],
        "cycles": (accesses - l1) + 5 * (l1 - ll) + 35 * ll,
    }


def timed_process(args: list[str]) -> tuple[float, int]:
    """Wall seconds of a whole interpreter run and its peak RSS (KiB), from wait4."""
    start = time.perf_counter()
    proc = subprocess.Popen([PY, *args], cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{args} failed: {proc.stderr.read() if proc.stderr else ''}")
    return elapsed, usage.ru_maxrss


def _ratios(ours: list[float], theirs: list[float]) -> dict[str, float]:
    return stats([a / b for a, b in zip(ours, theirs, strict=True)])


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto_server did not start")


def _commit() -> str:
    """The commit the library ran at, marked when src/ had uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return "unknown"
    return (head.stdout.strip() or "unknown") + (" + uncommitted src/" if dirty.stdout.strip() else "")
