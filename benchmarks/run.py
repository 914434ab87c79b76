"""Run every comparison side by side in one run and rewrite benchmarks/RESULTS.md.

    ./dev bench                 # or: python benchmarks/run.py [--quick]

Each stack runs in its own interpreter; rounds are interleaved (A B C D E, A B C D E, ...) so a
noisy neighbour hits every stack alike. Reported: medians, min-max, and ratios. No test asserts
on these numbers; they are measurements, recorded with the machine and the command.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
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


def warm(rounds: int, invocations: int) -> dict[str, Any]:
    runs: list[dict[str, dict[str, Any]]] = []  # per round: each stack's worker output
    with Sink() as sink:
        for r in range(rounds):
            runs.append(
                {s: worker(["benchmarks.stacks.warm", s, sink.address, str(invocations), "3"]) for s in WARM_STACKS}
            )
            print(f"  warm round {r + 1}/{rounds}", file=sys.stderr)

    def pooled(key: str) -> dict[str, dict[str, float]]:
        return {s: stats([v for run in runs for v in run[s][key]]) for s in WARM_STACKS}

    def per_round(key: str) -> list[dict[str, float]]:
        return [{s: statistics.median(run[s][key]) for s in WARM_STACKS} for run in runs]

    result: dict[str, Any] = pooled("batches_us")
    for s in WARM_STACKS:
        result[s]["overhead"] = result[s]["median"] - result["bare"]["median"]
    # Ratios within each round (its stacks ran back to back), then their median and spread.
    result["per_round_ratios"] = _round_ratios(per_round("batches_us"))
    result["cpu"] = pooled("cpu_batches_us")
    result["cpu_per_round_ratios"] = _round_ratios(per_round("cpu_batches_us"))
    return result


def _round_ratios(per_round: list[dict[str, float]]) -> dict[str, Any]:
    ratios: dict[str, Any] = {}
    for s in WARM_STACKS:
        vs_pt = [(x[s] - x["bare"]) / (x["powertools"] - x["bare"]) for x in per_round]
        vs_floor = [(x[s] - x["bare"]) / (x["floor"] - x["bare"]) for x in per_round]
        ratios[s] = {"vs_powertools": stats(vs_pt), "vs_floor": stats(vs_floor)}
    return ratios


def syscalls(small: int = 200, large: int = 1200) -> dict[str, Any]:
    """System calls per warm invocation, by name, counted with ``strace -c``: exact counts, whatever the
    machine is doing. Same method as :func:`instructions`: the difference between two run lengths."""
    import re

    if shutil.which("strace") is None:
        return {"error": "strace is not installed (apt-get install strace)"}
    out: dict[str, Any] = {}
    with Sink() as sink, tempfile.TemporaryDirectory() as tmp:
        for stack in WARM_STACKS:
            counts: list[dict[str, int]] = []
            for n in (small, large):
                report = Path(tmp) / f"{stack}-{n}"
                proc = subprocess.run(
                    ["strace", "-f", "-c", "-o", str(report), PY, "-m", "benchmarks.stacks.warm", stack, sink.address,
                     str(n), "1"],
                    cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                )  # fmt: skip
                if proc.returncode != 0:
                    raise RuntimeError(f"strace {stack}: {proc.stderr[-2000:]}")
                rows = re.findall(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$", report.read_text(), re.M)
                counts.append({name: int(calls) for calls, name in rows if name != "total"})
            # the timed loop runs measure()'s 200 warm-up invocations plus n: the difference is (large - small)
            per = {k: (counts[1].get(k, 0) - counts[0].get(k, 0)) / (large - small) for k in counts[1]}
            out[stack] = {k: round(v, 2) for k, v in sorted(per.items()) if round(v, 2) > 0}
            print(f"  syscalls {stack}: {out[stack]}", file=sys.stderr)
    return out


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


def instructions(small: int = 200, large: int = 1200) -> dict[str, Any]:
    """Instructions per warm invocation under callgrind: repeatable whatever the machine is doing.

    Each stack runs ``small`` and ``large`` invocations; the difference divided by the extra
    invocations is the per-invocation count, free of start-up and import costs. User-space work only:
    the kernel's side of a datagram or a write is not counted. The same runs feed callgrind's cache and
    branch-predictor simulation: a model, not the machine, but a repeatable one.
    """
    if shutil.which("valgrind") is None:
        return {"error": "valgrind is not installed (apt-get install valgrind)"}
    out: dict[str, Any] = {}
    model: dict[str, dict[str, float]] = {}
    for stack in WARM_STACKS:
        runs = [
            callgrind_events(["benchmarks.stacks.count", stack, "127.0.0.1:9", str(n)], True) for n in (small, large)
        ]
        per = {k: (runs[1][k] - runs[0][k]) / (large - small) for k in runs[1]}
        out[stack] = per["Ir"]
        model[stack] = _simulated(per)
        print(f"  instructions {stack}: {out[stack]:,.0f} per invocation; model {model[stack]}", file=sys.stderr)
    out["model"] = model
    return out


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


def logline(rounds: int, n: int) -> dict[str, Any]:
    stacks = ["lambda_observe", "lambda_observe_stdlib_json", "powertools", "python_json_logger"]
    samples: dict[str, list[float]] = {s: [] for s in stacks}
    for _ in range(rounds):
        for stack in stacks:
            samples[stack] += worker(["benchmarks.stacks.logline", stack, str(n), "3"])["batches_us"]
    return {s: stats(v) for s, v in samples.items()}


def metrics(rounds: int, n: int) -> dict[str, Any]:
    """Metrics (one metric + the flush) against Powertools Metrics, and log buffering with nothing to
    flush against writing the same records; the stacks interleaved, ratios taken within each round."""
    stacks = ["lambda_observe", "powertools", "buffered", "direct"]
    samples: dict[str, list[float]] = {s: [] for s in stacks}
    per_round: list[dict[str, float]] = []
    for _ in range(rounds):
        this: dict[str, float] = {}
        for stack in stacks:
            batches = worker(["benchmarks.stacks.metrics", stack, str(n), "3"])["batches_us"]
            samples[stack] += batches
            this[stack] = statistics.median(batches)
        per_round.append(this)
    ratios = {
        "metrics_vs_powertools": [r["lambda_observe"] / r["powertools"] for r in per_round],
        "buffered_vs_direct": [r["buffered"] / r["direct"] for r in per_round],
    }
    return {
        **{s: stats(v) for s, v in samples.items()},
        "ratios": {k: stats(v) for k, v in ratios.items()},
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


def cold(rounds: int) -> dict[str, Any]:
    stacks = ["bare", "lambda_observe", "powertools", "raw_sdk"]
    result: dict[str, Any] = {}
    with Sink() as sink:
        for boto in ("0", "1"):
            samples: dict[str, list[float]] = {s: [] for s in stacks}
            rss: dict[str, list[int]] = {s: [] for s in stacks}
            for _ in range(rounds):
                for stack in stacks:
                    out = worker(["benchmarks.stacks.cold", stack, boto, sink.address])
                    samples[stack].append(out["seconds"] * 1000)
                    rss[stack].append(out["rss_kb"])
            key = "with_boto3" if boto == "1" else "without_boto3"
            result[key] = {s: {**stats(samples[s]), "rss_mib": statistics.median(rss[s]) / 1024} for s in stacks}
            bare = result[key]["bare"]["median"]
            for s in stacks:
                result[key][s]["added"] = result[key][s]["median"] - bare
        patching: dict[str, list[float]] = {"no_patch": [], "patch_selective": [], "patch_all_sdk": []}
        for _ in range(rounds):
            for stack in patching:
                patching[stack].append(worker(["benchmarks.stacks.cold", stack, "0", sink.address])["seconds"] * 1000)
        result["patching"] = {k: stats(v) for k, v in patching.items()}
        imports: dict[str, list[float]] = {"python -c pass": [], "import lambda_observe": []}
        for _ in range(rounds):
            imports["python -c pass"].append(timed_process(["-c", "pass"])[0] * 1000)
            imports["import lambda_observe"].append(timed_process(["-c", "import lambda_observe"])[0] * 1000)
        result["import"] = {k: stats(v) for k, v in imports.items()}
    return result


def idempotency(rounds: int, n: int) -> dict[str, Any]:
    import boto3

    port = _free_port()
    server = subprocess.Popen(
        [str(Path(PY).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_port(port)
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        ENV.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        stacks = ["lambda_observe", "powertools", "lambda_observe:cache", "powertools:cache"]
        # One table per stack: every stack's table holds as many items as the others' at the same round.
        tables = {s: _table(client) for s in stacks}
        runs: list[dict[str, dict[str, Any]]] = []  # per round: each stack's worker output
        for r in range(rounds):
            order = stacks if r % 2 == 0 else stacks[::-1]  # alternate the order: drift hits both alike
            runs.append({s: worker(["benchmarks.stacks.idem", s, endpoint, tables[s], str(n)]) for s in order})

        def pooled(key: str) -> dict[str, dict[str, float]]:
            return {s: stats([run[s][key] for run in runs]) for s in stacks}

        def vs_powertools(key: str) -> dict[str, Any]:
            return {
                s: stats([run[s][key] / run[s.replace("lambda_observe", "powertools")][key] for run in runs])
                for s in ("lambda_observe", "lambda_observe:cache")
            }

        trips = {s: {"new": runs[-1][s]["new_round_trips"], "duplicate": runs[-1][s]["duplicate_round_trips"]}
                 for s in stacks}  # fmt: skip
        return {
            "new": pooled("new_us"),
            "duplicate": pooled("duplicate_us"),
            "new_cpu": pooled("new_cpu_us"),
            "new_per_round": vs_powertools("new_us"),
            "new_cpu_per_round": vs_powertools("new_cpu_us"),
            "round_trips": trips,
            "instructions": idempotency_instructions(endpoint, _table(client)),
        }
    finally:
        server.terminate()
        server.wait(timeout=10)


def batch(rounds: int) -> dict[str, Any]:
    """SQS batches of 10 and 100 records: lambda_observe.batch vs Powertools' BatchProcessor + Tracer + Logger.

    Per-record overhead = (stack - bare loop) / records, taken within each round (its stacks ran back to
    back); the marginal cost per record is the slope between the 10- and 100-record batches, which leaves
    out what each invocation pays once (the handler's subsegment, its log context).
    """
    stacks = ("bare", "lambda_observe", "powertools")
    runs: list[dict[str, dict[str, Any]]] = []
    with Sink() as sink:
        for r in range(rounds):
            order = stacks if r % 2 == 0 else stacks[::-1]
            runs.append({s: worker(["benchmarks.stacks.batch", s, sink.address, "3"]) for s in order})
            print(f"  batch round {r + 1}/{rounds}", file=sys.stderr)
    result: dict[str, Any] = {"rounds": rounds}
    for clock in ("us", "cpu_us"):
        per_round = [
            {s: {n: statistics.median(run[s][f"{clock}_{n}"]) for n in (10, 100)} for s in stacks} for run in runs
        ]
        overhead = {s: [(x[s][100] - x["bare"][100]) / 100 for x in per_round] for s in stacks}
        marginal = {s: [(x[s][100] - x[s][10]) / 90 - (x["bare"][100] - x["bare"][10]) / 90 for x in per_round]
                    for s in stacks}  # fmt: skip
        result[clock] = {
            "per_invocation_100": {s: stats([v for run in runs for v in run[s][f"{clock}_100"]]) for s in stacks},
            "per_record_overhead": {s: stats(overhead[s]) for s in stacks},
            "marginal_per_record": {s: stats(marginal[s]) for s in stacks},
            "ratio_vs_powertools": _ratios(overhead["lambda_observe"], overhead["powertools"]),
            "marginal_ratio_vs_powertools": _ratios(marginal["lambda_observe"], marginal["powertools"]),
        }
    result["datagrams"] = {s: worker(["benchmarks.stacks.batch", "--datagrams", s]) for s in stacks}
    result["instructions"] = batch_instructions(stacks)
    return result


def batch_instructions(stacks: tuple[str, ...], small: int = 1, large: int = 4) -> dict[str, Any]:
    """Instructions per record over the bare loop, under callgrind: the same on a busy machine as on an idle one.

    Each stack runs ``small`` and ``large`` 100-record batches; the difference over the extra records is the
    per-record count, free of start-up and imports. User space only: the kernel's side of each datagram
    and each log write is not in it (see ``datagrams`` for how many each stack sends).
    """
    if shutil.which("valgrind") is None:
        return {"error": "valgrind is not installed (apt-get install valgrind)"}
    per_record: dict[str, float] = {}
    for stack in stacks:
        runs = [callgrind(["benchmarks.stacks.batch", "--count", stack, "127.0.0.1:9", str(n)]) for n in (small, large)]
        per_record[stack] = (runs[1] - runs[0]) / ((large - small) * 100)
        print(f"  batch instructions {stack}: {per_record[stack]:,.0f} per record", file=sys.stderr)
    overhead = {s: per_record[s] - per_record["bare"] for s in stacks}
    return {
        "batches": [small, large],
        "per_record": per_record,
        "overhead_per_record": overhead,
        "ratio_vs_powertools": overhead["lambda_observe"] / overhead["powertools"],
    }


def _ratios(ours: list[float], theirs: list[float]) -> dict[str, float]:
    return stats([a / b for a, b in zip(ours, theirs, strict=True)])


def _batch_lines(b: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## 6. Batches: a 100-record SQS batch",
        "",
        "`benchmarks/stacks/batch.py`: each record decodes its JSON body and does a small sum. lambda_observe:",
        "`@traced` + `lambda_observe.batch.process_partial_response` (a `## record` subsegment and a `message_id`",
        "log key per record, one INFO line per record). Powertools: `BatchProcessor` + `process_partial_response`,",
        "`Tracer` (`capture_lambda_handler`, `capture_method(capture_response=False)` on the record handler: a",
        "subsegment per record) and `Logger` (`inject_lambda_context`, `append_keys(message_id=...)`, one INFO",
        "line per record). Bare: a plain loop over the records collecting failures. Per-record overhead =",
        f"(stack - bare) / 100, per round, then the median (min-max) over {b['rounds']} interleaved rounds;",
        "marginal = the slope between 10- and 100-record batches over the bare loop's slope.",
        "",
        "| stack | µs per 100-record invocation | per-record overhead µs | marginal per record µs | CPU per-record "
        "overhead µs |",
        "|---|---|---|---|---|",
    ]
    wall, cpu = b["us"], b["cpu_us"]
    for s in ("bare", "lambda_observe", "powertools"):
        inv, over, marg, cover = (
            wall["per_invocation_100"][s],
            wall["per_record_overhead"][s],
            wall["marginal_per_record"][s],
            cpu["per_record_overhead"][s],
        )
        lines.append(
            f"| {s} | {_us(inv['median'])} ({_us(inv['min'])}-{_us(inv['max'])}) | {_us(over['median'])} | "
            f"{_us(marg['median'])} | {_us(cover['median'])} |"
        )
    r, m, c = wall["ratio_vs_powertools"], wall["marginal_ratio_vs_powertools"], cpu["ratio_vs_powertools"]
    lines += [
        "",
        f"Per-record overhead, lambda_observe / Powertools: **{_ratio(r)}** by wall clock, {_ratio(c)} by CPU time,",
        f"{_ratio(m)} for the marginal cost per record (target: at most 0.5x).",
    ]
    ins, grams = b.get("instructions") or {}, b.get("datagrams") or {}
    if "overhead_per_record" in ins:
        over = ins["overhead_per_record"]
        sent = ", ".join(f"{s} {grams[s]['datagrams']:.0f}" for s in ("lambda_observe", "powertools") if s in grams)
        lines += [
            "",
            "Instructions per record over the bare loop (callgrind, the difference between "
            f"{' and '.join(map(str, ins.get('batches', ['two', 'more'])))} batches of 100 records): "
            f"lambda_observe {over['lambda_observe']:,.0f}, Powertools {over['powertools']:,.0f}: "
            f"**{ins['ratio_vs_powertools']:.2f}x**. An exact count, the same on a busy machine as on an idle one; "
            "user space only: the kernel's side of each datagram and log write is not in it"
            + (f" (datagrams per 100-record batch: {sent})." if sent else "."),
        ]
    elif "error" in ins:
        lines += ["", f"Instructions per record: not measured ({ins['error']})."]
    return lines


def _table(client: Any) -> str:
    table = f"idem-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return table


def idempotency_instructions(endpoint: str, table: str, small: int = 20, large: int = 80) -> dict[str, Any]:
    """Client-side instructions per idempotent call under callgrind (the server is another process)."""
    if shutil.which("valgrind") is None:
        return {"error": "valgrind is not installed (apt-get install valgrind)"}

    def count(stack: str, n: int, mode: str) -> int:
        return callgrind(["benchmarks.stacks.idem", "--count", stack, endpoint, table, str(n), mode])

    out: dict[str, Any] = {}
    for stack in ("lambda_observe", "powertools"):
        new_small, new_large, dup_large = (
            count(stack, small, "new"),
            count(stack, large, "new"),
            count(stack, large, "dup"),
        )
        out[stack] = {"new": (new_large - new_small) / (large - small), "duplicate": (dup_large - new_large) / large}
        print(f"  idempotency instructions {stack}: {out[stack]}", file=sys.stderr)
    return out


def layer_sizes() -> dict[str, Any]:
    from lambda_observe import layer

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ours = layer.build_layer(python="3.12", arch="arm64", out=tmp, quiet=True)
        out["lambda_observe"] = ours.stat().st_size
        root = Path(tmp) / "pt"
        site = root / "python"
        site.mkdir(parents=True)
        layer._pip_install(["aws-lambda-powertools[tracer]"], site, "3.12", "arm64")
        layer._prune(site, keep_runtime=False, diet=False)  # pruned as when issue #17 measured it
        target = Path(tmp) / "powertools.zip"
        layer._zip(root, target)
        out["powertools_tracer"] = target.stat().st_size
        out["powertools_unzipped"] = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    return out


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def profile() -> str:
    proc = subprocess.run(
        [PY, str(ROOT / "benchmarks" / "profile_warm.py")],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return proc.stdout


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


def _ms(v: float) -> str:
    return f"{v:.1f}"


def _us(v: float) -> str:
    return f"{v:.1f}"


def _history_entry(warm: dict[str, Any], date: str) -> dict[str, Any]:
    """One warm run's headline figures, kept across runs: the spread between runs is part of the result."""
    rr, cr = warm["per_round_ratios"]["lambda_observe"], warm["cpu_per_round_ratios"]["lambda_observe"]
    return {
        "date": date,
        "commit": _commit(),
        "vs_floor": rr["vs_floor"]["median"],
        "vs_powertools": rr["vs_powertools"]["median"],
        "cpu_vs_floor": cr["vs_floor"]["median"],
        "floor_us": warm["floor"]["median"],
    }


def _commands(made_by: dict[str, str], dates: dict[str, str]) -> str:
    """Which command made which sections, in the order they ran."""
    grouped: dict[str, list[str]] = {}
    for section, cmd in made_by.items():
        grouped.setdefault(cmd, []).append(section)
    order = sorted(grouped, key=lambda c: min(dates.get(s, "") for s in grouped[c]))
    return "; then ".join(f"{c}" if "--only" in c else f"{c} ({', '.join(grouped[c])})" for c in order)


def _syscalls_over_bare(sc: dict[str, dict[str, float]], stack: str) -> tuple[float, str]:
    """``stack``'s system calls per invocation over the bare stack's: the total, and which (most first)."""
    over = {k: v - sc["bare"].get(k, 0) for k, v in sc[stack].items()}
    over = {k: v for k, v in over.items() if v >= 0.05}
    which = ", ".join(f"{k} {v:g}" for k, v in sorted(over.items(), key=lambda kv: -kv[1]))
    return sum(over.values()), which


def _commit() -> str:
    """The commit the library ran at, marked when src/ had uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return "unknown"
    return (head.stdout.strip() or "unknown") + (" + uncommitted src/" if dirty.stdout.strip() else "")


def _ratio(r: dict[str, float]) -> str:
    return f"{r['median']:.2f}x ({r['min']:.2f}-{r['max']:.2f})"


def _profile_value(profile: str, label: str) -> float:
    for row in profile.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith(label):
            return float(cells[1])
    raise KeyError(label)


def _gap_sentence(data: dict[str, Any]) -> str:
    """What the measurements say about the floor target (computed from the data, not asserted)."""
    warm, profile_text = data["warm"], data["profile"]
    rr = warm.get("per_round_ratios", {}).get("lambda_observe", {}).get("vs_floor")
    ratio = rr["median"] if rr else warm["lambda_observe"]["overhead"] / warm["floor"]["overhead"]
    parts = [
        f"Wall clock: lambda_observe's overhead is {ratio:.2f}x the floor's"
        + (f" (per-round median; range {rr['min']:.2f}-{rr['max']:.2f})" if rr else "")
        + (f", within the {FLOOR_TARGET}x target." if ratio <= FLOOR_TARGET else f", over the {FLOOR_TARGET}x target.")
    ]
    cr = warm.get("cpu_per_round_ratios", {}).get("lambda_observe", {}).get("vs_floor")
    if cr:
        parts.append(
            f"CPU time, kernel included: {cr['median']:.2f}x the floor's (per-round median; range "
            f"{cr['min']:.2f}-{cr['max']:.2f})."
        )
    ins = data.get("instructions")
    if ins and "error" not in ins:
        bare = ins["bare"]
        parts.append(f"Instructions: {(ins['lambda_observe'] - bare) / (ins['floor'] - bare):.2f}x the floor's.")
        if "model" in ins:
            m = ins["model"]

            def over(stack: str, event: str) -> float:
                return float(m[stack][event] - m["bare"][event])

            parts.append(
                f"In callgrind's cache and branch model: {over('lambda_observe', 'l1_misses'):,.0f} L1 misses "
                f"against the floor's {over('floor', 'l1_misses'):,.0f} "
                f"({over('lambda_observe', 'l1_misses') / over('floor', 'l1_misses'):.2f}x), "
                f"{over('lambda_observe', 'mispredicts'):,.0f} branch mispredictions against "
                f"{over('floor', 'mispredicts'):,.0f} "
                f"({over('lambda_observe', 'mispredicts') / over('floor', 'mispredicts'):.2f}x), estimated cycles "
                f"{over('lambda_observe', 'cycles') / over('floor', 'cycles'):.2f}x: the same work spread over more "
                "Python functions in more modules than one hand-written function costs more than its instruction "
                "count says, which is where the wall clock's excess over the instruction ratio can come from."
            )
    sc = data.get("syscalls")
    if sc and "error" not in sc:
        ours, floor = _syscalls_over_bare(sc, "lambda_observe"), _syscalls_over_bare(sc, "floor")
        parts.append(
            f"System calls: {ours[0]:g} per invocation ({ours[1]}) against the floor's {floor[0]:g} ({floor[1]}); "
            "lambda_observe's `getpid` is the one every stdlib `LogRecord` makes"
            + (
                ", its `setitimer` pair the timeout warning's alarm."
                if "setitimer" in ours[1]
                else " (the timeout warning's watcher thread costs no system call per invocation)."
            )
        )
    line = _profile_value(profile_text, "one log line through")
    fmt = _profile_value(profile_text, "of which: formatting")
    floor_line = _profile_value(profile_text, "the floor's log line")
    parts.append(
        f"In the loop above, a log line costs {line:.1f} µs against the floor's {floor_line:.1f} µs "
        "with the same keys; "
        f"{line - fmt:.1f} µs of ours are the standard `logging` machinery around our formatter, which lambda_observe "
        "keeps on purpose so that the users' existing `logging` calls come out as JSON."
    )
    return " ".join(parts)


def render(data: dict[str, Any], command: str) -> str:
    w = data["warm"]
    lo, pt, rs, fl = (w[k]["overhead"] for k in ("lambda_observe", "powertools", "raw_sdk", "floor"))
    los = w["lambda_observe_stdlib_json"]["overhead"]
    lines = [
        "# Benchmark results",
        "",
        f"Command: `{command}`  ",
        f"Date: {data['date']}  "
        if not data.get("dates")
        else "Dates: " + ", ".join(f"{k} {v}" for k, v in data["dates"].items()) + "  ",
        f"Machine: {data['machine']}  ",
        f"Versions: {data['versions']}",
        "",
        "Shared, noisy 2-core VM: read the medians and ratios, not single absolute times. Every stack runs in its",
        "own interpreter; rounds are interleaved. Absolute times on these VMs are slower than Lambda hardware.",
        "",
        "## 1. Warm per-invocation overhead",
        "",
        "Handler with one subsegment and one INFO log line with the request context; documents over real UDP to a",
        "sink process; log lines to /dev/null through a stdout flushed on every write, as the Lambda runtime sets",
        "it up. Microseconds per invocation (median of all batches, min-max);",
        "overhead = stack - bare.",
        "",
        "| stack | median µs | min-max | overhead µs | overhead / Powertools | overhead / floor |",
        "|---|---|---|---|---|---|",
    ]
    for s in WARM_STACKS:
        v = w[s]  # pooled: every batch of every round
        lines.append(
            f"| {s} | {_us(v['median'])} | {_us(v['min'])}-{_us(v['max'])} | {_us(v['overhead'])} | "
            f"{v['overhead'] / pt:.2f}x | {v['overhead'] / fl:.2f}x |"
        )
    if "per_round_ratios" in w:
        rr = w["per_round_ratios"]
        lines += [
            "",
            "Ratios computed within each round (the stacks of a round run back to back), then their median and",
            "min-max over the rounds: steadier than ratios of pooled medians on this shared machine.",
            "",
            "| stack | overhead / Powertools, per round | overhead / floor, per round |",
            "|---|---|---|",
        ]
        for s in WARM_STACKS[2:]:
            a, b = rr[s]["vs_powertools"], rr[s]["vs_floor"]
            lines.append(f"| {s} | {_ratio(a)} | {_ratio(b)} |")
        lo_r, los_r = rr["lambda_observe"], rr["lambda_observe_stdlib_json"]
        lines += [
            "",
            f"Targets (#17): overhead at most {POWERTOOLS_TARGET}x Powertools' "
            f"(per-round median **{lo_r['vs_powertools']['median']:.2f}x**, "
            f"without orjson {los_r['vs_powertools']['median']:.2f}x) and at most {FLOOR_TARGET}x the floor's "
            "(per-round median "
            f"**{lo_r['vs_floor']['median']:.2f}x**, "
            f"range {lo_r['vs_floor']['min']:.2f}-{lo_r['vs_floor']['max']:.2f}; "
            f"without orjson {los_r['vs_floor']['median']:.2f}x).",
        ]
    if "cpu_per_round_ratios" in w:
        c, cr = w["cpu"], w["cpu_per_round_ratios"]
        lines += [
            "",
            "### CPU time per invocation (user + kernel)",
            "",
            "The same batches, timed by the process's own CPU clock (`CLOCK_PROCESS_CPUTIME_ID`) around each batch:",
            "the kernel's side of each datagram and each write is in it; time spent off the CPU (preempted by a",
            "neighbour, waiting) is not. Microseconds per invocation; ratios per round as above. (Hardware cycle",
            "counters would be steadier still, but `perf stat -e cycles` reports them as not supported on these VMs.)",
            "",
            "| stack | median µs | min-max | overhead / Powertools, per round | overhead / floor, per round |",
            "|---|---|---|---|---|",
        ]
        for s in WARM_STACKS:
            a, b = cr[s]["vs_powertools"], cr[s]["vs_floor"]
            lines.append(
                f"| {s} | {_us(c[s]['median'])} | {_us(c[s]['min'])}-{_us(c[s]['max'])} | {_ratio(a)} | {_ratio(b)} |"
            )
    history = data.get("history", [])
    if len(history) > 1:
        lines += [
            "",
            "Every warm run recorded so far, with the commit it ran at (`history` in results.json; each warm run",
            "adds one), so that the spread between runs on this shared machine is visible next to this run's:",
            "",
            "| run | commit | floor median µs | overhead / floor, wall | / floor, CPU | / Powertools, wall |",
            "|---|---|---|---|---|---|",
        ]
        for h in history:
            cpu = "-" if h.get("cpu_vs_floor") is None else f"{h['cpu_vs_floor']:.2f}x"
            lines.append(
                f"| {h['date']} | {h.get('commit', '-')} | {_us(h['floor_us'])} | {h['vs_floor']:.2f}x | {cpu} | "
                f"{h['vs_powertools']:.2f}x |"
            )
        ratios = [h["vs_floor"] for h in history]
        within = sum(r <= FLOOR_TARGET for r in ratios)
        lines += [
            "",
            f"Over these {len(history)} runs, lambda_observe's overhead against the floor's (wall clock, per-round "
            f"median) was {min(ratios):.2f}x to {max(ratios):.2f}x, median {statistics.median(ratios):.2f}x; "
            f"{within} of {len(history)} runs at or under the {FLOOR_TARGET}x target. Against Powertools': "
            f"{min(h['vs_powertools'] for h in history):.2f}x to {max(h['vs_powertools'] for h in history):.2f}x.",
        ]
    ins = data.get("instructions")
    if ins and "error" not in ins:
        bare_i = ins["bare"]
        over = {k: v - bare_i for k, v in ins.items() if k != "model"}
        lines += [
            "",
            "### Instructions per invocation (callgrind)",
            "",
            "The same workload counted in instructions under valgrind's callgrind (`benchmarks/stacks/count.py`,",
            "1,200 minus 200 invocations): repeatable whatever else the machine is doing, but user-space work only",
            "(the kernel's side of each datagram and each write, and the daemon's wake-up, are not in it).",
            "",
            "| stack | instructions | over bare | / Powertools | / floor |",
            "|---|---|---|---|---|",
        ]
        for s in WARM_STACKS:
            lines.append(
                f"| {s} | {ins[s]:,.0f} | {over[s]:,.0f} | {over[s] / over['powertools']:.2f}x | "
                f"{over[s] / over['floor']:.2f}x |"
            )
        if "model" in ins:
            m = ins["model"]
            d = {k: {e: v - m["bare"][e] for e, v in m[k].items()} for k in m}
            lines += [
                "",
                "The same runs through callgrind's cache and branch-predictor simulation (a model of a generic",
                "x86 core, not this VM's, but repeatable), per invocation over bare. Estimated cycles weigh an L1",
                "hit 1, a last-level hit 5 and a memory access 35 (Itamar Turner-Trauring's weighting for benchmarks",
                "in CI, pythonspeed.com); branch mispredictions are not in that estimate.",
                "",
                "| stack | L1 misses | last-level misses | branch mispredictions | estimated cycles | cycles / floor |",
                "|---|---|---|---|---|---|",
            ]
            for s in WARM_STACKS[1:]:
                v = d[s]
                lines.append(
                    f"| {s} | {round(v['l1_misses']):,} | {max(round(v['ll_misses']), 0):,} | "
                    f"{round(v['mispredicts']):,} | "
                    f"{v['cycles']:,.0f} | {v['cycles'] / d['floor']['cycles']:.2f}x |"
                )
    elif ins:
        lines += ["", f"Instruction counts were not taken: {ins['error']}."]
    sc = data.get("syscalls")
    if sc and "error" not in sc:
        lines += [
            "",
            "### System calls per invocation (strace)",
            "",
            "Counted with `strace -f -c` (1,200 minus 200 invocations; exact, whatever the machine is doing), less",
            "the bare stack's (the harness's own `getrandom` for fresh request ids and trace headers).",
            "",
            "| stack | system calls over bare | which |",
            "|---|---|---|",
        ]
        for s in WARM_STACKS[1:]:
            total, which = _syscalls_over_bare(sc, s)
            lines.append(f"| {s} | {total:g} | {which} |")
    elif sc:
        lines += ["", f"System calls were not counted: {sc['error']}."]
    lines += [
        "",
        f"Pooled medians: overhead {lo / pt:.2f}x Powertools' (without orjson "
        f"{los / pt:.2f}x), {lo / fl:.2f}x the floor's (without orjson {los / fl:.2f}x). "
        f"Raw SDK + python-json-logger: {rs / pt:.2f}x Powertools.",
        "",
        "## 2. Cold start",
        "",
        "A fresh interpreter per run, Lambda environment set; time from importing the handler module to the end",
        "of its first invocation (milliseconds, median and min-max); peak RSS of the run. The clock starts after",
        "the modules the runtime interface client (awslambdaric) imports before it loads a handler, and every",
        "stack imports compiled bytecode (lambda_observe's compiled first), as on Lambda with a compiled package.",
        "",
    ]
    for key in ("without_boto3", "with_boto3"):
        c = data["cold"][key]
        pt_added = c["powertools"]["added"]
        lines += [
            f"### Handler module {'imports boto3' if key == 'with_boto3' else 'does not import boto3'}",
            "",
            "| stack | median ms | min-max | added over bare ms | added / Powertools' | peak RSS MiB |",
            "|---|---|---|---|---|---|",
        ]
        for s in ("bare", "lambda_observe", "raw_sdk", "powertools"):
            v = c[s]
            lines.append(
                f"| {s} | {_ms(v['median'])} | {_ms(v['min'])}-{_ms(v['max'])} | {_ms(v['added'])} | "
                f"{v['added'] / pt_added:.2f}x | {v['rss_mib']:.1f} |"
            )
        lines.append("")
    imp = data["cold"]["import"]
    pa = data["cold"]["patching"]
    base = pa["no_patch"]["median"]
    sel, full = pa["patch_selective"]["median"] - base, pa["patch_all_sdk"]["median"] - base
    lines += [
        "### Patching at cold start",
        "",
        "Handler module importing boto3 and requests; the time patching adds over no patching (ms).",
        "",
        "| patching | median ms | min-max | added ms |",
        "|---|---|---|---|",
        f"| none | {_ms(base)} | {_ms(pa['no_patch']['min'])}-{_ms(pa['no_patch']['max'])} | 0.0 |",
        f'| `patch("boto3", "requests")` | {_ms(pa["patch_selective"]["median"])} | '
        f"{_ms(pa['patch_selective']['min'])}-{_ms(pa['patch_selective']['max'])} | {_ms(sel)} |",
        f"| SDK `patch_all()` | {_ms(pa['patch_all_sdk']['median'])} | "
        f"{_ms(pa['patch_all_sdk']['min'])}-{_ms(pa['patch_all_sdk']['max'])} | {_ms(full)} |",
        "",
    ]
    lines += [
        "`import lambda_observe` alone, whole interpreter wall time (ms): "
        f"{_ms(imp['import lambda_observe']['median'])} vs `python -c pass` {_ms(imp['python -c pass']['median'])}.",
        "",
        "## 3. Log line cost",
        "",
        "One INFO line with the request context and one extra key, to /dev/null through a stdout flushed on",
        "every write (as in Lambda); microseconds per line.",
        "",
        "| logger | median µs | min-max | / Powertools |",
        "|---|---|---|---|",
    ]
    lg = data["logline"]
    for s in ("lambda_observe", "lambda_observe_stdlib_json", "python_json_logger", "powertools"):
        v = lg[s]
        lines.append(
            f"| {s} | {_us(v['median'])} | {_us(v['min'])}-{_us(v['max'])} | "
            f"{v['median'] / lg['powertools']['median']:.2f}x |"
        )
    if "metrics" in data:
        lines += _metrics_section(data["metrics"])
    idem = data["idempotency"]
    ptn, ptd = idem["new"]["powertools"]["median"], idem["duplicate"]["powertools"]["median"]
    lines += [
        "",
        "## 4. Idempotency per call (DynamoDB on moto's server, in its own process)",
        "",
        "Microseconds per call of an idempotent function; `:cache` = in-process cache of completed records.",
        "moto answers far slower than DynamoDB, and its server closes the connection after every response, so",
        "each round trip also opens a TCP connection (for both stacks alike). A new key takes the same path with",
        "and without the cache, so the gap between those rows is the run-to-run noise.",
        "",
        "| stack | new key µs | / Powertools | duplicate µs | / Powertools (no cache) | round trips new / duplicate |",
        "|---|---|---|---|---|---|",
    ]
    for s in ("lambda_observe", "powertools", "lambda_observe:cache", "powertools:cache"):
        n, d = idem["new"][s]["median"], idem["duplicate"][s]["median"]
        rt = idem.get("round_trips", {}).get(s)
        trips = f"{rt['new']:.2f} / {rt['duplicate']:.2f}" if rt else "-"
        lines.append(f"| {s} | {_us(n)} | {n / ptn:.2f}x | {_us(d)} | {d / ptd:.3f}x | {trips} |")
    if "new_per_round" in idem:
        a, b = idem["new_per_round"]["lambda_observe"], idem["new_per_round"]["lambda_observe:cache"]
        lines += [
            "",
            "New key, lambda_observe / Powertools within each round (the two ran back to back, the order",
            f"alternating from round to round, each stack on its own table): **{_ratio(a)}** without the cache, "
            f"{_ratio(b)} with it.",
        ]
    if "new_cpu_per_round" in idem:
        c, pt_cpu = idem["new_cpu_per_round"]["lambda_observe"], idem["new_cpu"]["powertools"]["median"]
        lines += [
            "",
            "The same calls timed by the function's own process CPU clock (user + kernel; moto's time, in its own",
            f"process, is not in it): new key {_us(idem['new_cpu']['lambda_observe']['median'])} µs against "
            f"Powertools' {_us(pt_cpu)} µs, per round **{_ratio(c)}**.",
        ]
    iins = idem.get("instructions")
    if iins and "error" not in iins:
        lo_i, pt_i = iins["lambda_observe"], iins["powertools"]
        lines += [
            "",
            "Client-side instructions per call under callgrind (the moto server runs in another process, so only",
            "the function's own process is counted: the library, botocore, the HTTP client; "
            "`benchmarks/stacks/idem.py --count`):",
            "",
            "| stack | new key | / Powertools | duplicate | / Powertools |",
            "|---|---|---|---|---|",
            f"| lambda_observe | {lo_i['new']:,.0f} | {lo_i['new'] / pt_i['new']:.2f}x | {lo_i['duplicate']:,.0f} | "
            f"{lo_i['duplicate'] / pt_i['duplicate']:.2f}x |",
            f"| powertools | {pt_i['new']:,.0f} | 1.00x | {pt_i['duplicate']:,.0f} | 1.00x |",
        ]
    lines += [
        "",
        "Round trips are counted with botocore's `before-send` event: they do not depend on the machine. On the",
        "DynamoDB service, where a round trip costs milliseconds and the client's own work microseconds, they",
        "decide the per-call cost; moto's latency here varies by more than the difference between the stacks.",
    ]
    if data.get("profile"):
        lines += [
            "",
            "## Where the warm time goes",
            "",
            "`benchmarks/profile_warm.py`: each part timed in a loop in one process (median of repeats). A datagram",
            "in a tight loop is far cheaper than in the benchmark, where each one wakes the sink process: that",
            "wake-up is paid per datagram by every stack (the floor sends two per invocation, lambda_observe one,",
            "its subsegments nested in the handler's document).",
            "",
            data["profile"].strip(),
            "",
            _gap_sentence(data),
        ]
    sizes = data["layer"]
    lines += [
        "",
        "## 5. Layer size (Python 3.12, arm64, without what the runtime ships)",
        "",
        "| layer | zipped bytes | ratio |",
        "|---|---|---|",
        f"| lambda_observe | {sizes['lambda_observe']:,} | "
        f"{sizes['lambda_observe'] / sizes['powertools_tracer']:.2f}x |",
        f"| Powertools[tracer], built the same way | {sizes['powertools_tracer']:,} | 1.00x |",
        "",
    ]
    if "batch" in data:
        lines += [*_batch_lines(data["batch"])[1:], ""]
    if "patch_cost" in data:
        pc = data["patch_cost"]
        lines += [
            "## Patching and init tracing at cold start (benchmarks/patch_cost.py)",
            "",
            "From before the patching call to the end of importing boto3 and requests, in each order; wall",
            "and CPU time (CPU time is steadier on a shared machine). Target (issue #17): at most 10 ms added.",
            "On the shared 2-core machine these medians move by ten milliseconds and more from run to run for",
            "every stack; the instruction counts after them do not, and say what each stack adds.",
            "",
            pc["patch"],
            "",
            *([pc["instructions"], ""] if pc.get("instructions") else []),
            pc["init"],
            "",
        ]
    if "otel" in data:  # the OpenTelemetry comparison (benchmarks/otel_bench.py)
        lines += ["", *_otel_bench().render(data["otel"])]
    return "\n".join(lines)


def _metrics_section(mt: dict[str, Any]) -> list[str]:
    """## 3a: metrics and log buffering (`benchmarks/stacks/metrics.py`)."""
    lines = [
        "",
        "## 3a. Metrics and log buffering",
        "",
        "Microseconds per invocation (`benchmarks/stacks/metrics.py`). Metrics: one metric added and the",
        "end-of-invocation flush writing its EMF line (lambda_observe: the metrics start hook, `add_metric`,",
        "the end hook; Powertools: a `log_metrics` handler calling `add_metric`). Log buffering: five DEBUG",
        "records per invocation held and dropped (`LAMBDA_OBSERVE_LOG_BUFFER=DEBUG`), against the same records",
        "written at level DEBUG. Ratios are taken within each round (median and range over rounds).",
        "",
        "| stack | median µs | min-max |",
        "|---|---|---|",
    ]
    for s in ("lambda_observe", "powertools", "buffered", "direct"):
        v = mt[s]
        lines.append(f"| {s} | {_us(v['median'])} | {_us(v['min'])}-{_us(v['max'])} |")
    r = mt["ratios"]
    lines += [
        "",
        f"Metrics, lambda_observe / Powertools: **{_ratio(r['metrics_vs_powertools'])}**; log buffering with",
        f"nothing to flush / writing directly: **{_ratio(r['buffered_vs_direct'])}**.",
    ]
    return lines


def patch_cost(runs: int) -> dict[str, str]:
    """benchmarks/patch_cost.py's tables (patching in both orders, timed and counted; init tracing on/off)."""

    def table(*extra: str) -> str:
        out = subprocess.run(
            [PY, str(ROOT / "benchmarks" / "patch_cost.py"), "--runs", str(runs), *extra],
            cwd=ROOT,
            env=ENV,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()

    return {"patch": table(), "instructions": table("--instructions"), "init": table("--init-trace")}


def _otel_bench() -> Any:
    if str(ROOT) not in sys.path:  # run as a script, sys.path[0] is benchmarks/: the package needs the root
        sys.path.insert(0, str(ROOT))
    from benchmarks import otel_bench

    return otel_bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument(
        "--only",
        choices=[
            "warm",
            "instructions",
            "syscalls",
            "cold",
            "logline",
            "metrics",
            "idempotency",
            "layer",
            "batch",
            "patch_cost",
            "otel",
        ],
        action="append",
        help="re-run only these comparisons, keeping the others from results.json",
    )
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite RESULTS.md from results.json (re-running only the warm profile)",
    )
    args = parser.parse_args()
    if args.render_only:
        data = json.loads((ROOT / "benchmarks" / "results.json").read_text())
        data["profile"] = profile()
        (ROOT / "benchmarks" / "results.json").write_text(json.dumps(data, indent=1))
        (ROOT / "benchmarks" / "RESULTS.md").write_text(render(data, data.get("command", "./dev bench")))
        print((ROOT / "benchmarks" / "RESULTS.md").read_text())
        return
    rounds = 2 if args.quick else 5
    compiled()
    from lambda_observe import __version__

    data: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.platform()}",
        "versions": f"lambda_observe {__version__}, aws-lambda-powertools {_version('aws-lambda-powertools')}, "
        f"aws-xray-sdk {_version('aws-xray-sdk')}, python-json-logger {_version('python-json-logger')}, "
        f"orjson {_version('orjson')}",
    }
    sections = {
        "warm": lambda: warm(rounds * 3, 1000),
        "cold": lambda: cold(rounds * 3),
        "logline": lambda: logline(rounds, 5000),
        "metrics": lambda: metrics(rounds, 2000),
        "idempotency": lambda: idempotency(rounds * 2, 100),
        "batch": lambda: batch(rounds * 2),
        "layer": layer_sizes,
        "patch_cost": lambda: patch_cost(max(11, rounds * 3)),
        "instructions": instructions,
        "syscalls": syscalls,
        "otel": lambda: _otel_bench().run(rounds),
    }
    results_file = ROOT / "benchmarks" / "results.json"
    previous = json.loads(results_file.read_text()) if results_file.exists() else {}
    if args.only:
        data = {**previous, **{k: v for k, v in data.items()}}
    else:
        data["dates"] = {}
        data["history"] = previous.get("history", [])
    dates = data.setdefault("dates", {})
    for name, run in sections.items():
        if args.only and name not in args.only:
            continue
        print(name, file=sys.stderr)
        data[name] = run()
        dates[name] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    if "warm" in data and (not args.only or "warm" in args.only):
        data.setdefault("history", []).append(_history_entry(data["warm"], dates["warm"]))
    print("warm profile", file=sys.stderr)
    data["profile"] = profile()
    this = "./dev bench" + (" --quick" if args.quick else "") + "".join(f" --only {o}" for o in args.only or [])
    made_by = data.get("made_by", {}) if args.only else {}
    made_by.update({name: this for name in sections if not args.only or name in args.only})
    data["made_by"] = made_by
    command = data["command"] = _commands(made_by, dates)
    (ROOT / "benchmarks" / "RESULTS.md").write_text(render(data, command))
    (ROOT / "benchmarks" / "results.json").write_text(json.dumps(data, indent=1))
    print((ROOT / "benchmarks" / "RESULTS.md").read_text())
    shutil.rmtree(ROOT / "benchmarks" / "__pycache__", ignore_errors=True)


if __name__ == "__main__":
    main()
