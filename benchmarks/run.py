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
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script (./dev bench): sys.path[0] is benchmarks/, the package needs the root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import ROOT, _version, compiled
from benchmarks.report import _commands, _history_entry, render
from benchmarks.sections import (
    _otel_bench,
    batch,
    cold,
    idempotency,
    instructions,
    layer_sizes,
    logline,
    metrics,
    patch_cost,
    profile,
    syscalls,
    warm,
)


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
