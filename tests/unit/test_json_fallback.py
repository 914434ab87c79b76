"""orjson is a dependency and the default serializer; the standard library stays a working
fallback when orjson cannot be imported (issue #17)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_observe import _json

ROOT = Path(__file__).resolve().parents[2]

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def test_orjson_is_a_dependency():
    """A plain install brings orjson: it is among the package's unconditional requirements."""
    reqs = metadata.requires("lambda-observe") or []
    assert any(r.startswith("orjson") and "extra ==" not in r for r in reqs), reqs


@settings(max_examples=200, deadline=None)
@given(values)
def test_fast_and_stdlib_paths_agree(value):
    """For any JSON value, the orjson path and the standard-library path decode to the same thing."""
    fast = _json.dumps_bytes(value)
    slow = _json.dumps(value).encode("utf-8")
    assert json.loads(fast) == json.loads(slow) == value


HIDDEN = r"""
import json, os, sys, decimal, datetime
sys.modules["orjson"] = None  # any `import orjson` now raises ImportError
from lambda_observe import _json, get_logger, subsegment, traced, add_metadata
from lambda_observe.testing import LambdaContext, collector, trace_header

with collector() as c:
    os.environ.update(AWS_XRAY_DAEMON_ADDRESS=c.address, _X_AMZN_TRACE_ID=trace_header(),
                      LAMBDA_TASK_ROOT=os.getcwd(), AWS_LAMBDA_FUNCTION_NAME="fallback")
    log = get_logger("fallback")
    odd = {"price": decimal.Decimal("1.5"), "when": datetime.date(2026, 1, 2), "tags": {"a"}, "raw": b"\xff"}

    @traced
    def handler(event, context):
        with subsegment("work"):
            add_metadata("odd", odd)
            log.info("fallback line", extra=odd)
        return "ok"

    result = handler({}, LambdaContext())
    docs = c.settle(quiet=0.2)
print(json.dumps({"result": result, "docs": docs, "bytes": _json.dumps_bytes(odd).decode(),
                  "orjson": sys.modules.get("orjson") is not None}))
"""


def test_without_orjson_the_standard_library_serializes_everything():
    """With orjson unimportable: documents and log lines still go out, odd values converted the same way."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMBDA_", "AWS_LAMBDA_"))}
    proc = subprocess.run([sys.executable, "-c", HIDDEN], cwd=ROOT, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    out = lines[-1]
    assert out["result"] == "ok" and out["orjson"] is False
    assert json.loads(out["bytes"]) == {"price": 1.5, "when": "2026-01-02", "tags": ["a"], "raw": "base64:/w=="}
    (work,) = [d for d in out["docs"] if d["name"] == "work"]
    assert work["metadata"]["fallback"]["odd"]["when"] == "2026-01-02"
    (line,) = [x for x in lines if x.get("message") == "fallback line"]
    assert line["price"] == 1.5 and line["tags"] == ["a"]
