"""`lambda-observe invoke` on the examples, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def invoke(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMBDA_OBSERVE_", "AWS_LAMBDA", "_X_AMZN"))}
    env.pop("LAMBDA_TASK_ROOT", None)
    env["LAMBDA_OBSERVE_IDEMPOTENCY_STORE"] = f"sqlite:///{tmp_path / 'idem.db'}"
    env["ORDERS_DB"] = str(tmp_path / "orders.db")
    return subprocess.run(
        [sys.executable, "-m", "lambda_observe.cli", "invoke", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_orders_example_twice(tmp_path):
    """The README's demo: two invocations, a cold start then a warm one, an idempotency miss then a hit."""
    proc = invoke(tmp_path, str(ROOT / "examples/orders/app.py") + ":handler", "--event", "apigw-rest", "--times", "2")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.count("response: ") == 2 and '"statusCode":201' in out
    assert "ColdStart=True" in out and "ColdStart=False" in out
    assert "idempotency='miss'" in out and "idempotency='hit'" in out
    assert "store order" in out and "orders.db" in out  # the patched sqlite3 call, nested


@pytest.mark.parametrize(
    "name",
    [
        "apigw-rest",
        "apigw-http",
        "alb",
        "function-url",
        "sqs",
        "sns",
        "s3",
        "eventbridge",
        "dynamodb-stream",
        "kinesis",
    ],
)
def test_every_named_event(tmp_path, name):
    """Every sample event by name runs through a handler and shows a waterfall."""
    (tmp_path / "echo.py").write_text(
        "from lambda_observe import traced\n@traced\ndef handler(event, context):\n    return sorted(event)\n"
    )
    proc = invoke(tmp_path, f"{tmp_path / 'echo.py'}:handler", "--event", name)
    assert proc.returncode == 0, proc.stderr
    assert "## handler" in proc.stdout


def test_event_from_a_file_and_errors_exit_nonzero(tmp_path):
    """An event file works; a raising handler prints Lambda's error shape and exits 1."""
    (tmp_path / "event.json").write_text('{"fail": true}')
    (tmp_path / "boom.py").write_text(
        "from lambda_observe import traced\n@traced\ndef handler(event, context):\n"
        "    if event.get('fail'):\n        raise RuntimeError('boom')\n    return 1\n"
    )
    proc = invoke(tmp_path, f"{tmp_path / 'boom.py'}:handler", "--event", str(tmp_path / "event.json"))
    assert proc.returncode == 1
    assert '"errorType": "RuntimeError"' in proc.stdout and "cause: RuntimeError: boom" in proc.stdout


def test_timeout_shows_the_warning(tmp_path):
    """--timeout: the warning names the open subsegments; running past it exits non-zero."""
    (tmp_path / "slow.py").write_text(
        "import time\nfrom lambda_observe import subsegment, traced\n@traced\ndef handler(event, context):\n"
        "    with subsegment('slow call'):\n        time.sleep(1.2)\n"
    )
    proc = invoke(tmp_path, f"{tmp_path / 'slow.py'}:handler", "--timeout", "1")
    assert proc.returncode == 1
    assert "from its deadline; still open: ## handler > slow call" in proc.stdout
    assert "Task timed out after 1.00 seconds" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope.py:handler"], "no file"),
        (["x.py:handler", "--event", "nope"], "not a file and not a known name"),
        (["app"], "expected 'module.function'"),
        (["x.py:handler", "--times", "0"], "expected 1 or more"),
    ],
)
def test_bad_input_is_explained(tmp_path, args, message):
    """Bad arguments exit 2 with what was expected."""
    (tmp_path / "x.py").write_text("def handler(e, c):\n    return 1\n")
    proc = invoke(tmp_path, *args)
    assert proc.returncode == 2
    assert message in proc.stderr
