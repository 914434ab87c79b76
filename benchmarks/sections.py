"""The comparisons: each runs its stacks side by side and returns its figures for results.json."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    ENV,
    PY,
    ROOT,
    WARM_STACKS,
    Sink,
    _free_port,
    _ratios,
    _round_ratios,
    _simulated,
    _wait_port,
    callgrind,
    callgrind_events,
    stats,
    timed_process,
    worker,
)


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
