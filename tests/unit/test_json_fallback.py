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


LINES = r"""
import json, logging, sys
if sys.argv[1] == "stdlib":
    sys.modules["orjson"] = None  # any `import orjson` now raises ImportError
from lambda_observe.logs._formatter import make_formatter
from lambda_observe import _json
fmt = make_formatter(service="same")
out = {"base": type(fmt).__mro__[2].__name__, "lines": [], "docs": []}
for value in json.loads(sys.stdin.read()):
    record = logging.makeLogRecord({"name": "app", "levelname": "INFO", "levelno": 20, "msg": "caf\u00e9 \U0001f600",
        "args": None, "created": 1767225600.25, "msecs": 250.0, "module": "app", "funcName": "handler",
        "lineno": 7, "value": value})
    out["lines"].append(fmt.format(record))
    out["docs"].append(_json.dumps_bytes({"name": "doc", "metadata": {"default": {"v": value}}}).decode("utf-8"))
print(json.dumps(out))
"""

# Values both encoders write the same way: no floats (repr may differ), 64-bit integers, text
# without lone surrogates (orjson refuses those; the careful path then writes them escaped).
same_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(exclude_categories=("Cs",)), max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _lines(mode: str, values: list[object]) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMBDA_OBSERVE_", "AWS_LAMBDA_"))}
    # The orjson side needs the real orjson, even in the suite's orjson-hidden run.
    paths = env.get("PYTHONPATH", "").split(os.pathsep)
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p and Path(p).name != "no_orjson")
    proc = subprocess.run(
        [sys.executable, "-c", LINES, mode],
        input=json.dumps(values),  # ASCII on the way in: the encoders under test only run in the child
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


@settings(max_examples=4, deadline=None)
@given(st.lists(same_values, min_size=1, max_size=25))
def test_without_orjson_log_lines_and_documents_are_byte_identical_to_orjson(values):
    """A log line (message "café 😀", a user value) and an X-Ray document written by the
    standard-library fallback are the same bytes as orjson writes: no spaces after , and :, and
    é or 😀 as UTF-8, not \\u escapes. Both run in fresh interpreters, orjson hidden in one."""
    values = ["é😀", {"k é": ["😀", 1, None, True]}, *values]
    fast = _lines("orjson", values)
    slow = _lines("stdlib", values)
    assert (fast["base"], slow["base"]) == ("OrjsonFormatter", "JsonFormatter")
    assert '"message":"café 😀"' in fast["lines"][0]  # type: ignore[index]
    for a, b in zip(fast["lines"], slow["lines"], strict=True):  # type: ignore[call-overload]
        assert b.encode("utf-8") == a.encode("utf-8")
    for a, b in zip(fast["docs"], slow["docs"], strict=True):  # type: ignore[call-overload]
        assert b.encode("utf-8") == a.encode("utf-8")
