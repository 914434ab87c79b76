"""The OpenTelemetry comparison: lambda_observe's otlp and otel modes beside its xray mode and the ADOT way.

    python -m benchmarks.otel_bench [--rounds N]     # prints the figures; RESULTS.md is untouched
    ./dev bench --only otel                          # the same, recorded in results.json and RESULTS.md

Warm: microseconds per invocation over bare (wall and CPU), rounds interleaved across stacks.
Cold: milliseconds from before the handler module's imports to the end of its first invocation,
in a fresh interpreter, over bare. Stacks: benchmarks/stacks/otel_stacks.py.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from typing import Any

WARM = ("bare", "xray", "otlp", "otel", "adot")
COLD = ("bare", "xray", "otlp", "adot")


def run(rounds: int, invocations: int = 1000) -> dict[str, Any]:
    from benchmarks.run import Sink, worker

    wall: dict[str, list[float]] = {s: [] for s in WARM}
    cpu: dict[str, list[float]] = {s: [] for s in WARM}
    cold: dict[str, list[float]] = {s: [] for s in COLD}
    with Sink() as sink:
        for r in range(rounds):
            for stack in WARM:
                out = worker(["benchmarks.stacks.otel_stacks", "warm", stack, sink.address, str(invocations), "3"])
                wall[stack].extend(out["batches_us"])
                cpu[stack].extend(out["cpu_batches_us"])
            for stack in COLD:
                out = worker(["benchmarks.stacks.otel_stacks", "cold", stack, sink.address])
                cold[stack].append(out["seconds"] * 1000)
            print(f"  otel round {r + 1}/{rounds}", file=sys.stderr)
    med = {
        k: {s: statistics.median(v) for s, v in d.items()} for k, d in (("wall", wall), ("cpu", cpu), ("cold", cold))
    }
    over = {k: {s: med[k][s] - med[k]["bare"] for s in med[k]} for k in med}
    counted = instructions()
    if counted:
        over["instructions"] = {s: v - counted["warm"]["bare"] for s, v in counted["warm"].items()}
        over["cold instructions"] = {s: v - counted["cold"]["bare"] for s, v in counted["cold"].items()}

    def ratio(kind: str, a: str, b: str) -> float:
        return over[kind][a] / over[kind][b] if over[kind][b] > 0 else float("nan")

    return {
        "rounds": rounds,
        "median": med,
        "over_bare": over,
        "ratios": {
            "warm otlp / xray (wall)": ratio("wall", "otlp", "xray"),
            "warm otlp / xray (cpu)": ratio("cpu", "otlp", "xray"),
            "warm otlp / adot (wall)": ratio("wall", "otlp", "adot"),
            "warm otlp / adot (cpu)": ratio("cpu", "otlp", "adot"),
            "warm otel / adot (cpu)": ratio("cpu", "otel", "adot"),
            "cold added otlp / adot": ratio("cold", "otlp", "adot"),
            **(
                {
                    "warm otlp / xray (instructions)": ratio("instructions", "otlp", "xray"),
                    "warm otlp / adot (instructions)": ratio("instructions", "otlp", "adot"),
                    "cold added otlp / adot (instructions)": ratio("cold instructions", "otlp", "adot"),
                }
                if counted
                else {}
            ),
        },
    }


def instructions(small: int = 100, large: int = 600) -> dict[str, dict[str, float]]:
    """Instructions under callgrind, repeatable whatever the machine is doing (user space only):
    per warm invocation (``large`` minus ``small`` invocations) and for the cold start (the handler
    module's imports and first invocation, after the runtime's own imports). Empty without valgrind."""
    import shutil

    from benchmarks.run import callgrind

    if shutil.which("valgrind") is None:
        return {}
    module = "benchmarks.stacks.otel_stacks"
    warm: dict[str, float] = {}
    cold: dict[str, float] = {}
    for stack in WARM:
        runs = [callgrind([module, "count", stack, "127.0.0.1:9", str(n)]) for n in (small, large)]
        warm[stack] = (runs[1] - runs[0]) / (large - small)
        print(f"  otel instructions {stack}: {warm[stack]:,.0f} per warm invocation", file=sys.stderr)
    for stack in COLD:
        cold[stack] = float(callgrind([module, "cold-count", stack, "127.0.0.1:9"]))
        print(f"  otel instructions {stack}: {cold[stack]:,.0f} for the cold start", file=sys.stderr)
    return {"warm": warm, "cold": cold}


def render(data: dict[str, Any]) -> list[str]:
    """The section's lines for RESULTS.md."""
    over = data["over_bare"]
    lines = [
        "## OpenTelemetry: otlp and otel modes beside xray and the ADOT way",
        "",
        f"`python -m benchmarks.otel_bench`, {data['rounds']} interleaved rounds. Warm: the warm workload "
        "(one span, one log line) per invocation, over bare. Cold: import + first invocation, over bare.",
        "",
        "| stack | warm wall µs | warm CPU µs | cold added ms |",
        "| --- | ---: | ---: | ---: |",
    ]
    for stack in WARM[1:]:
        cold = over["cold"].get(stack)
        lines.append(
            f"| {stack} | {over['wall'][stack]:.0f} | {over['cpu'][stack]:.0f} | "
            + (f"{cold:.0f}" if cold is not None else "-")
            + " |"
        )
    if "instructions" in over:
        lines += [
            "",
            "Instructions under valgrind's callgrind (`benchmarks.stacks.otel_stacks count` / `cold-count`): per warm",
            "invocation over bare (600 minus 100 invocations), and for the cold start over bare (after the",
            "runtime's own imports). An exact count, the same on a busy machine as on an idle one; user space only.",
            "",
            "| stack | warm instructions | cold instructions (millions) |",
            "| --- | ---: | ---: |",
        ]
        for stack in WARM[1:]:
            cold_i = over["cold instructions"].get(stack)
            lines.append(
                f"| {stack} | {over['instructions'][stack]:,.0f} | "
                + (f"{cold_i / 1e6:,.1f}" if cold_i is not None else "-")
                + " |"
            )
    lines += ["", "| ratio | value | target |", "| --- | ---: | ---: |"]
    targets = {"warm otlp / xray": "≤ 1.0", "warm otlp / adot": "≤ 0.2", "cold added otlp / adot": "≤ 0.1"}
    for name, value in data["ratios"].items():
        target = next((t for k, t in targets.items() if name.startswith(k)), "")
        lines.append(f"| {name} | {value:.2f}x | {target} |")
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--invocations", type=int, default=1000)
    args = parser.parse_args()
    from benchmarks.run import compiled

    compiled()
    data = run(args.rounds, args.invocations)
    print(json.dumps(data, indent=1))
    print("\n".join(render(data)))


if __name__ == "__main__":
    main()
