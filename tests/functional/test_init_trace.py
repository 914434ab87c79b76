"""Init tracing: the first invocation's trace holds an Initialization subsegment covering the
import of the handler's module, with the slow imports nested as they nested (issue #17)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

MODULES = {
    # slow_a imports slow_b; each sleeps well above the threshold the tests set (100 ms)
    "slow_a.py": "import time\nimport slow_b\ntime.sleep(0.2)\n",
    "slow_b.py": "import time\ntime.sleep(0.2)\n",
    "fast_c.py": "X = 1\n",
    "app_traced.py": (
        "from lambda_observe import get_logger, traced\n"
        "import slow_a, fast_c\n"
        "log = get_logger('app')\n"
        "@traced\n"
        "def handler(event, context):\n"
        "    log.info('hi')\n"
        "    return 'ok'\n"
    ),
    "app_plain.py": (
        "import logging\nimport slow_a, fast_c\n"
        "def handler(event, context):\n"
        "    logging.getLogger('app').info('hi')\n"
        "    return 'ok'\n"
    ),
}

PROBE = r"""
import json, os, sys
sys.path.insert(0, os.environ["APP_DIR"])
from lambda_observe.testing import LambdaContext, collector, trace_header
with collector() as c:
    os.environ["AWS_XRAY_DAEMON_ADDRESS"] = c.address
    if os.environ["APP"] == "wrapper":
        import lambda_observe.wrapper
        handler = lambda_observe.wrapper.handler
    else:
        import app_traced
        handler = app_traced.handler
    timer = any(type(f).__name__ == "_Timer" for f in sys.meta_path)
    headers = []
    for n in range(2):
        header = trace_header()
        headers.append(header)
        os.environ["_X_AMZN_TRACE_ID"] = header
        handler({}, LambdaContext())
    docs = c.settle(quiet=0.3)
print(json.dumps({"docs": docs, "headers": headers, "timer_after_init": timer,
                  "loaded": "lambda_observe._init_trace" in sys.modules}))
"""


def run(tmp_path: Path, app: str, **env: str) -> dict[str, Any]:
    for name, text in MODULES.items():
        (tmp_path / name).write_text(text)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LAMBDA_", "AWS_LAMBDA_", "_X_AMZN"))}
    base.update(
        APP_DIR=str(tmp_path),
        APP=app,
        LAMBDA_TASK_ROOT=str(tmp_path),
        AWS_LAMBDA_FUNCTION_NAME="init-fn",
        LAMBDA_OBSERVE_TRACE_INIT_MIN_MS="100",
        **env,
    )
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, env=base, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    out = lines[-1]
    out["logs"] = [x for x in lines[:-1] if x.get("message") == "hi"]
    return out  # type: ignore[no-any-return]


def init_tree(out: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in out["docs"] if d["name"] == "Initialization"]


def check_tree(out: dict[str, Any], assert_valid: Any, app_module: str) -> None:
    assert_valid(out["docs"])
    (init,) = init_tree(out)
    first_root = out["headers"][0].split(";")[0].split("=")[1]
    first_parent = out["headers"][0].split(";")[1].split("=")[1]
    assert init["trace_id"] == first_root and init["parent_id"] == first_parent
    by_id = {d["id"]: d for d in out["docs"]}
    (app,) = [d for d in out["docs"] if d["name"] == app_module]
    (a,) = [d for d in out["docs"] if d["name"] == "slow_a"]
    (b,) = [d for d in out["docs"] if d["name"] == "slow_b"]
    # nested as the imports nested: Initialization > the handler's module > slow_a > slow_b
    assert [b["parent_id"], a["parent_id"], app["parent_id"]] == [a["id"], app["id"], init["id"]]
    assert not [d for d in out["docs"] if d["name"] == "fast_c"]  # under the threshold
    for child in (app, a, b):
        parent = by_id[child["parent_id"]]
        assert parent["start_time"] <= child["start_time"] <= child["end_time"] <= parent["end_time"]


def test_traced_with_the_variable_traces_the_init_once(tmp_path, assert_valid):
    """LAMBDA_OBSERVE_TRACE_INIT=true with @traced: the first trace has the tree, the second has
    none; the first invocation's log line carries init_duration_ms, the second's does not."""
    out = run(tmp_path, "traced", LAMBDA_OBSERVE_TRACE_INIT="true")
    check_tree(out, assert_valid, "app_traced")
    first, second = out["logs"]
    assert first["init_duration_ms"] >= 400 and "init_duration_ms" not in second
    assert out["timer_after_init"] is True  # under @traced the timer stops at the first invocation


def test_wrapper_traces_the_init_by_default(tmp_path, assert_valid):
    """Under the zero-code wrapper init tracing is on without the variable, and the timer is gone
    as soon as the handler's module is loaded."""
    out = run(tmp_path, "wrapper", LAMBDA_OBSERVE_HANDLER="app_plain.handler")
    check_tree(out, assert_valid, "app_plain")
    assert out["timer_after_init"] is False


@pytest.mark.parametrize("app,env", [("traced", {}), ("wrapper", {"LAMBDA_OBSERVE_TRACE_INIT": "false"})])
def test_switched_off_nothing_is_installed(tmp_path, app, env):
    """Off (@traced without the variable, or the wrapper with it false): no Initialization, no
    timer, and under @traced the init-tracing module is never even imported."""
    extra = {"LAMBDA_OBSERVE_HANDLER": "app_plain.handler"} if app == "wrapper" else {}
    out = run(tmp_path, app, **env, **extra)
    assert init_tree(out) == [] and out["timer_after_init"] is False
    if app == "traced":
        assert out["loaded"] is False
        assert all("init_duration_ms" not in x for x in out["logs"])
