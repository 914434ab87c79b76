"""Import cost stays honest: the public API and ``patch()`` import nothing heavy (issue #17).

Each check runs in a fresh interpreter, inside and outside the Lambda environment, and lists
the modules that appeared."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("aws_xray_sdk", "boto3", "botocore", "requests", "redis", "wrapt", "opentelemetry", "asyncio")

USE = "import lambda_observe\nfrom lambda_observe import traced, patch, subsegment\npatch('boto3', 'requests')\n"


def heavy_modules(code: str, in_lambda: bool) -> list[str]:
    """The heavy modules that running ``code`` in a fresh interpreter imports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMBDA_", "AWS_LAMBDA_"))}
    if in_lambda:
        env.update(LAMBDA_TASK_ROOT="/var/task", AWS_LAMBDA_FUNCTION_NAME="cost")
    probe = (
        f"import sys, json\nbefore = set(sys.modules)\n{code}\nprint(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [m for m in json.loads(proc.stdout.splitlines()[-1]) if m.split(".")[0] in HEAVY]


@pytest.mark.parametrize("in_lambda", [False, True], ids=["outside-lambda", "in-lambda"])
def test_public_api_and_patch_import_nothing_heavy(in_lambda):
    """import lambda_observe, traced/patch/subsegment, and patch("boto3", "requests") before the
    libraries are imported load no SDK, boto3, botocore, requests, redis, wrapt, OpenTelemetry or asyncio."""
    assert heavy_modules(USE, in_lambda) == []


def test_the_check_sees_a_heavy_import():
    """The same check reports a heavy module when the code does import one."""
    assert "wrapt" in heavy_modules(USE + "import wrapt\n", in_lambda=True)
