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


#: All that ``patch("boto3", "requests")`` may load of lambda_observe before the libraries are imported,
#: and still all once they are (the hooks wrap, and build nothing): the hook machinery and the wrappers.
PATCH_MODULES = {
    "lambda_observe.config",
    "lambda_observe._warn",
    "lambda_observe.tracing",
    "lambda_observe.tracing._context",
    "lambda_observe.tracing._light",
    "lambda_observe.tracing._post_import",
    "lambda_observe.tracing._state",
    "lambda_observe.tracing.patching",
}
#: Standard-library modules that cost milliseconds in a fresh interpreter, or pull in many others.
HEAVY_STDLIB = (
    "asyncio",
    "base64",
    "dataclasses",
    "datetime",
    "decimal",
    "email",
    "http",
    "inspect",
    "json",
    "linecache",
    "logging",
    "random",
    "re",
    "socket",
    "ssl",
    "string",
    "textwrap",
    "tokenize",
    "traceback",
    "urllib",
    "uuid",
)

PATCH_PROBE = """
import json, sys
import lambda_observe
before = set(sys.modules)
from lambda_observe import patch
patch("boto3", "requests")
{extra}
at_patch = sorted(set(sys.modules) - before)
for name in {order!r}:
    __import__(name)
import botocore.client, requests.sessions
from lambda_observe.tracing.patching import patched
print(json.dumps({{
    "at_patch": at_patch,
    "ours_after": sorted(m for m in sys.modules if m.startswith("lambda_observe")),
    "patched": sorted(patched()),
    "wrapped": [
        getattr(botocore.client.BaseClient._make_api_call, "_lambda_observe_light", False),
        getattr(requests.sessions.Session.request, "_lambda_observe_light", False),
    ],
}}))
"""


def patch_probe(order: list[str], in_lambda: bool, extra: str = "") -> dict[str, list[str]]:
    """In a fresh interpreter: what patch() loads before the libraries, and what is loaded once they are."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMBDA_", "AWS_LAMBDA_", "AWS_XRAY_"))}
    if in_lambda:
        env.update(LAMBDA_TASK_ROOT="/var/task", AWS_LAMBDA_FUNCTION_NAME="cost", AWS_REGION="us-east-1")
    code = PATCH_PROBE.format(order=order, extra=extra)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def too_heavy(at_patch: list[str]) -> list[str]:
    """What patch() loaded beyond its own modules and light standard-library ones."""
    stdlib = getattr(sys, "stdlib_module_names", frozenset())
    return [
        m
        for m in at_patch
        if (m.startswith("lambda_observe") and m not in PATCH_MODULES)
        or (not m.startswith("lambda_observe") and (m.split(".")[0] not in stdlib or m.split(".")[0] in HEAVY_STDLIB))
    ]


@pytest.mark.parametrize("in_lambda", [False, True], ids=["outside-lambda", "in-lambda"])
@pytest.mark.parametrize("order", [["boto3", "requests"], ["requests", "boto3"]], ids="-then-".join)
def test_nothing_heavy_is_imported_before_a_patched_library(order, in_lambda):
    """patch("boto3", "requests"), before the libraries are imported, loads only the hook machinery
    and the wrappers (no backend, span, emitter, JSON, logging, socket or regex module, no
    third-party module); importing the libraries then wraps both without loading any more of
    lambda_observe: the backend is built by the first traced call (issue #17)."""
    out = patch_probe(order, in_lambda)
    assert too_heavy(out["at_patch"]) == []
    assert {m for m in out["at_patch"] if m.startswith("lambda_observe")} == PATCH_MODULES
    assert set(out["ours_after"]) == {"lambda_observe", *PATCH_MODULES}
    assert out["patched"] == ["botocore", "requests"] and out["wrapped"] == [True, True]


def test_the_patch_check_sees_a_heavy_import():
    """The same check reports what patch() would load beyond that: a heavy standard-library module,
    a module of our own outside the list, a third-party module."""
    extra = "import logging, lambda_observe.tracing._span, jmespath"
    out = patch_probe(["boto3", "requests"], True, extra=extra)
    found = too_heavy(out["at_patch"])
    assert {"logging", "lambda_observe.tracing._span", "jmespath"} <= set(found)
