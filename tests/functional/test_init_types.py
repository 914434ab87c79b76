"""Every Lambda initialization type gets ColdStart, cold_start and the restore mark right, and
ids never repeat across environments restored from one SnapStart snapshot (issue #17)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lambda_observe import get_logger, traced
from lambda_observe.testing import LambdaContext

ROOT = Path(__file__).resolve().parents[2]

#: init type -> (cold on the first invocation, first invocation marked as a restore)
EXPECTED = {
    None: (True, False),
    "on-demand": (True, False),
    "provisioned-concurrency": (False, False),
    "snap-start": (True, True),
    "lambda-managed-instances": (False, False),
    "something-new": (True, False),
}


@pytest.mark.parametrize("init_type", list(EXPECTED), ids=str)
def test_cold_start_and_restore_for_each_initialization_type(init_type, lambda_env, capsys, assert_valid):
    """Two invocations: the ColdStart annotation, the Restore annotation and the cold_start and
    restore log keys follow AWS_LAMBDA_INITIALIZATION_TYPE; the second invocation is never cold."""
    if init_type is not None:
        lambda_env.monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", init_type)
    from lambda_observe import testing

    testing.reset()
    log = get_logger("init-types")

    @traced
    def handler(event, context):
        log.info("hello")
        return event["n"]

    cold, restore = EXPECTED[init_type]
    for n in range(2):
        lambda_env.collector.clear()
        lambda_env.new_trace()
        capsys.readouterr()
        assert handler({"n": n}, LambdaContext()) == n
        (doc,) = [d for d in lambda_env.documents(1) if d["name"] == "## handler"]
        assert_valid([doc])
        (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"hello"' in x]
        assert doc["annotations"]["ColdStart"] is (cold and n == 0)
        assert line["cold_start"] is (cold and n == 0)
        assert doc["annotations"].get("Restore", False) is (restore and n == 0)
        assert line.get("restore", False) is (restore and n == 0)
    logging.getLogger("init-types").handlers.clear()


RESTORE_PROBE = r"""
import json, os, sys
from lambda_observe import subsegment, traced
from lambda_observe.testing import LambdaContext, collector, trace_header
from lambda_observe.tracing import _span

mode = sys.argv[1]
with collector() as c:
    os.environ.update(AWS_XRAY_DAEMON_ADDRESS=c.address, LAMBDA_TASK_ROOT=os.getcwd(),
                      AWS_LAMBDA_FUNCTION_NAME="snap", AWS_LAMBDA_INITIALIZATION_TYPE="snap-start")
    if mode == "fallback":
        sys.modules["snapshot_restore_py"] = None  # the runtime's hook library is not importable

    @traced(logs=False)  # init: the decorator registers the after-restore hook when it can
    def handler(event, context):
        with subsegment("work"):
            pass
        return "ok"

    snapshot = _span._RNG.getstate()  # the memory image every restored environment starts from
    children = []
    for _ in range(2):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            _span._RNG.setstate(snapshot)  # undo the at-fork reseed: a restore does not fork
            if mode == "hook":
                from awslambdaric import lambda_runtime_hooks_runner
                lambda_runtime_hooks_runner.run_after_restore()  # what the runtime does after a restore
            header = trace_header()
            os.environ["_X_AMZN_TRACE_ID"] = header
            handler({}, LambdaContext())
            os.write(write, header.split(";")[0].split("=")[1].encode())
            os._exit(0)
        os.close(write)
        children.append((pid, read))
    roots = []
    for pid, read in children:
        os.waitpid(pid, 0)
        with os.fdopen(read) as fh:
            roots.append(fh.read())
    docs = c.settle(quiet=0.3)  # the collector runs in the parent; the children's datagrams reach it
print(json.dumps([[d["id"] for d in docs if d["trace_id"] == root] for root in roots]))
"""


@pytest.mark.parametrize("mode", ["hook", "fallback", "none"])
def test_restored_environments_never_repeat_ids(mode):
    """Two children forked after init, each restarted from the parent's random state (as
    environments restored from one snapshot are): their entity ids differ, whether the
    after_restore hook (run by awslambdaric's hook runner) or the first-invocation fallback
    reseeds. Control: outside SnapStart ("none") the same setup repeats ids, so the check can fail."""
    code = RESTORE_PROBE
    if mode == "none":
        code = code.replace('AWS_LAMBDA_INITIALIZATION_TYPE="snap-start"', 'AWS_LAMBDA_INITIALIZATION_TYPE="on-demand"')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMBDA_", "AWS_LAMBDA_", "_X_AMZN"))}
    proc = subprocess.run(
        [sys.executable, "-c", code, mode], cwd=ROOT, capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    first, second = json.loads(proc.stdout.splitlines()[-1])
    assert len(first) == len(second) == 2
    if mode == "none":
        assert first == second  # the shared state really repeats ids: the reseed is what prevents it
    else:
        assert not set(first) & set(second), (first, second)


def test_otlp_span_ids_come_from_the_reseeded_generator():
    """otlp mode draws span ids from lambda_observe's own generator (the one reseeded after a
    SnapStart restore), never from the global ``random``: a user's ``random.seed(0)`` does not
    repeat them, and restoring our generator's state does (so the restore reseed covers them)."""
    import random

    from lambda_observe.tracing import _span, otlp

    random.seed(0)
    a = otlp._new_span_id()
    random.seed(0)
    b = otlp._new_span_id()
    assert a != b
    state = _span._RNG.getstate()
    c = otlp._new_span_id()
    _span._RNG.setstate(state)
    assert otlp._new_span_id() == c
