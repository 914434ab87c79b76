"""The timeout warning on whole decorated handlers, checked on the real UDP datagrams.

The warning sends the open subsegments as ``in_progress`` documents; the final documents of the
same ids replace them (X-Ray keeps the last document of an id), so the collector-side view, the
last document per id, tells what really happened.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from lambda_observe import subsegment, traced
from lambda_observe.testing import LambdaContext


class WarningSeen(logging.Handler):
    """Keeps the WARNINGs the library logs; sets an event when the timeout warning is logged."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.event = threading.Event()
        self.messages: list[str] = []
        self.threads: list[str] = []  # the thread that logged each timeout warning

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        if "from its deadline" in record.getMessage():
            self.threads.append(record.threadName or "")
            self.event.set()


@pytest.fixture
def warnings_seen():
    seen = WarningSeen()
    logger = logging.getLogger("lambda_observe")
    logger.addHandler(seen)
    try:
        yield seen
    finally:
        logger.removeHandler(seen)


def last_per_id(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What X-Ray keeps: for each id, the last document received."""
    out: dict[str, dict[str, Any]] = {}
    for doc in docs:
        out[doc["id"]] = doc
    return out


def test_handler_that_returns_inside_the_margin_is_not_a_fault(lambda_env, warnings_seen, assert_valid):
    """A handler that finishes after the warning but before the deadline: the warning sends the open
    subsegments in progress (no end, no fault); their final documents are complete, without a timeout
    cause, and are the last ones per id; closed subsegments are sent exactly once."""
    lambda_env.monkeypatch.setenv("LAMBDA_OBSERVE_TIMEOUT_WARNING_MS", "2000")

    @traced
    def handler(event, context):
        with subsegment("before"):
            pass
        with subsegment("slow"):
            assert warnings_seen.event.wait(10), "the timeout warning never fired"
        with subsegment("after"):
            pass
        return "in time"

    assert handler({}, LambdaContext(timeout_s=2.3)) == "in time"
    assert len([m for m in warnings_seen.messages if "from its deadline" in m]) == 1
    docs = lambda_env.collector.settle(quiet=0.1)
    assert_valid(docs)
    counts: dict[str, int] = {}
    for doc in docs:
        counts[doc["name"]] = counts.get(doc["name"], 0) + 1
    # open at the warning: sent in progress, then final; closed before or after: sent once
    assert counts == {"## handler": 2, "slow": 2, "before": 1, "after": 1}, counts
    progress = [d for d in docs if d.get("in_progress")]
    assert {d["name"] for d in progress} == {"## handler", "slow"}
    for doc in progress:
        assert "end_time" not in doc and not doc.get("fault") and "cause" not in doc
    final = last_per_id(docs)
    assert {d["name"] for d in final.values()} == {"## handler", "slow", "before", "after"}
    for doc in final.values():
        assert "end_time" in doc and not doc.get("in_progress"), doc
        assert not doc.get("fault") and "cause" not in doc, doc
    top = next(d for d in final.values() if d["name"] == "## handler")
    assert top["annotations"]["ColdStart"] is True
    assert top["metadata"]["test-fn"]["handler response"] == "in time"


def test_handler_that_raises_after_the_warning_keeps_its_own_cause(lambda_env, warnings_seen, assert_valid):
    """A handler that raises after the warning: the final document holds the handler's exception,
    not a timeout cause."""
    lambda_env.monkeypatch.setenv("LAMBDA_OBSERVE_TIMEOUT_WARNING_MS", "2000")

    @traced
    def handler(event, context):
        assert warnings_seen.event.wait(10), "the timeout warning never fired"
        raise KeyError("late")

    with pytest.raises(KeyError):
        handler({}, LambdaContext(timeout_s=2.3))
    docs = lambda_env.collector.settle(quiet=0.1)
    assert_valid(docs)
    final = last_per_id(docs)
    assert len(final) == 1
    (top,) = final.values()
    assert top["fault"] is True and top["cause"]["exceptions"][0]["type"] == "KeyError"


def test_overlapping_invocations_do_not_cross_wire(lambda_env, warnings_seen, assert_valid):
    """A second invocation that starts while another runs in the process (threads) gets no timeout
    alarm, is not traced under the first one's trace header, and a warning says so once; the first
    invocation keeps its alarm (the second one's end does not cancel it)."""
    lambda_env.monkeypatch.setenv("LAMBDA_OBSERVE_TIMEOUT_WARNING_MS", "2000")
    first_running = threading.Event()
    second_done = threading.Event()
    results: dict[str, Any] = {}

    @traced
    def handler(event, context):
        if event["who"] == "first":
            first_running.set()
            assert second_done.wait(10)
            with subsegment("waiting for the warning"):
                results["warned"] = warnings_seen.event.wait(10)
        else:
            with subsegment("second work"):
                pass
        return event["who"]

    def first() -> None:
        results["first"] = handler({"who": "first"}, LambdaContext(timeout_s=2.6, aws_request_id="req-first"))

    thread = threading.Thread(target=first)
    thread.start()
    assert first_running.wait(10)
    second = threading.Thread(
        target=lambda: results.__setitem__(
            "second", handler({"who": "second"}, LambdaContext(timeout_s=2.6, aws_request_id="req-second"))
        )
    )
    second.start()
    second.join(10)
    second_done.set()
    thread.join(15)
    assert results["first"] == "first" and results["second"] == "second"
    assert results["warned"], "the first invocation lost its timeout warning"
    overlap = [m for m in warnings_seen.messages if "another invocation" in m]
    assert len(overlap) == 1, warnings_seen.messages
    deadline = [m for m in warnings_seen.messages if "from its deadline" in m]
    assert len(deadline) == 1 and "req-first" in deadline[0], deadline
    docs = lambda_env.collector.settle(quiet=0.1)
    assert_valid(docs)
    names = {d["name"] for d in docs}
    assert "second work" not in names, "the overlapping invocation was traced under another one's header"
    assert "waiting for the warning" in names


class JsonLines(logging.Handler):
    """Formats the library's WARNINGs with its JSON formatter, in the thread that logs them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        from lambda_observe.logs._formatter import LambdaJsonFormatter

        self.setFormatter(LambdaJsonFormatter())
        self.lines: list[dict[str, Any]] = []
        self.event = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        import json

        self.lines.append(json.loads(self.format(record)))
        if "from its deadline" in record.getMessage():
            self.event.set()


def test_warning_on_the_timer_thread_carries_the_invocation_keys(lambda_env):
    """A handler run off the main thread gets its warning from a timer thread: the JSON line still
    has the invocation's request id, trace id and cold start (it runs in the invocation's context)."""
    lambda_env.monkeypatch.setenv("LAMBDA_OBSERVE_TIMEOUT_WARNING_MS", "2000")
    lines = JsonLines()
    logger = logging.getLogger("lambda_observe")
    logger.addHandler(lines)

    @traced(logs=False)
    def handler(event, context):
        assert threading.current_thread() is not threading.main_thread()
        return lines.event.wait(10)

    results: list[Any] = []
    worker = threading.Thread(
        target=lambda: results.append(handler({}, LambdaContext(timeout_s=2.3, aws_request_id="req-timer")))
    )
    try:
        worker.start()
        worker.join(15)
    finally:
        logger.removeHandler(lines)
    assert results == [True], "the timeout warning never fired"
    (line,) = [x for x in lines.lines if "from its deadline" in x["message"]]
    assert line["function_request_id"] == "req-timer"
    assert line["cold_start"] is True
    assert line["xray_trace_id"].startswith("1-")


def test_concurrent_siblings_are_not_shown_as_a_path(lambda_env, warnings_seen):
    """Open spans of concurrent asyncio tasks are siblings in the warning, not one path."""
    import asyncio

    lambda_env.monkeypatch.setenv("LAMBDA_OBSERVE_TIMEOUT_WARNING_MS", "2000")

    async def task(name: str) -> None:
        with subsegment(name):
            await asyncio.sleep(0.6)

    @traced
    async def handler(event, context):
        with subsegment("fan out"):
            await asyncio.gather(task("task1"), task("task2"))
        return "ok"

    assert handler({}, LambdaContext(timeout_s=2.3)) == "ok"
    (message,) = [m for m in warnings_seen.messages if "from its deadline" in m]
    assert "still open: ## handler > fan out > [task1, task2]" in message, message


@pytest.fixture
def free_sigalrm():
    """SIGALRM at its default, as under Lambda (pytest-timeout holds it during tests, which sends
    the library to its thread timer): its handler and timer are put back afterwards."""
    import signal

    handler = signal.getsignal(signal.SIGALRM)
    timer = signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, handler)
        if timer[0] > 0:
            signal.setitimer(signal.ITIMER_REAL, *timer)


def test_the_warning_comes_from_the_watcher_thread_and_leaves_sigalrm_alone(lambda_env, warnings_seen, free_sigalrm):
    """The warning is given by the process's one watcher thread; SIGALRM's handler and interval timer
    are never touched (they stay the handler's own), and an invocation that ends in time leaves
    nothing armed behind it: a later moment of its due time passes without a warning."""
    import signal
    import time

    lambda_env.monkeypatch.setenv("LAMBDA_OBSERVE_TIMEOUT_WARNING_MS", "2000")
    seen = warnings_seen

    @traced
    def handler(event, context):
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0), "an interval timer was armed"
        assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL, "SIGALRM's handler was replaced"
        return seen.event.wait(10)

    assert handler({}, LambdaContext(timeout_s=2.3)) is True
    assert seen.threads == ["lambda_observe-timeout"]
    assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL

    @traced
    def quick(event, context):
        return "ok"

    assert quick({}, LambdaContext(timeout_s=2.3)) == "ok"  # due 0.3 s from now, ends at once
    time.sleep(0.6)
    assert seen.threads == ["lambda_observe-timeout"], "an ended invocation was warned of"


_FORKED = """
import os, sys, time
os.environ.update(AWS_LAMBDA_FUNCTION_NAME="fn", LAMBDA_TASK_ROOT="/tmp", LAMBDA_OBSERVE_TRACING="false",
                  LAMBDA_OBSERVE_TIMEOUT_WARNING_MS="2000")
from lambda_observe import traced
from lambda_observe.testing import LambdaContext

@traced
def handler(event, context):
    time.sleep(event["sleep"])
    return "ok"

handler({"sleep": 0}, LambdaContext(timeout_s=60))  # the parent's watcher is started
sys.stdout.flush()
pid = os.fork()
handler({"sleep": 0.8}, LambdaContext(timeout_s=2.3))  # due after 0.3 s, in both processes
sys.stdout.flush()
if pid:
    os.waitpid(pid, 0)
"""


class CountingBell:
    """Stands in for the watcher's bell: counts the times an invocation had to wake the watcher."""

    def __init__(self, bell: Any) -> None:
        self.bell = bell
        self.rings = 0

    def acquire(self, *args: Any) -> bool:
        return bool(self.bell.acquire(*args))

    def release(self) -> None:
        self.rings += 1
        self.bell.release()


def test_spaced_invocations_never_wake_the_watcher(lambda_env, warnings_seen):
    """Invocations further apart than their budget (a quiet function): the idle watcher looks again
    within one budget, so no invocation has to wake it (a wake-up is a system call in the
    invocation's path); and each slow invocation still gets its warning."""
    import time

    from lambda_observe import _timeout

    lambda_env.monkeypatch.setenv("LAMBDA_OBSERVE_TIMEOUT_WARNING_MS", "500")

    @traced
    def handler(event, context):
        time.sleep(event["sleep"])
        return "ok"

    assert handler({"sleep": 0}, LambdaContext(timeout_s=0.65)) == "ok"  # starts the watcher
    bell = CountingBell(_timeout._Native.bell)
    _timeout._Native.bell = bell
    for i in range(6):
        time.sleep(0.25)  # longer than the 0.15 s budget: the watcher is idle when the next one starts
        assert handler({"sleep": 0.25 if i % 2 else 0}, LambdaContext(timeout_s=0.65)) == "ok"
    assert bell.rings == 0
    assert len([m for m in warnings_seen.messages if "from its deadline" in m]) == 3


_GEVENT = """
from gevent import monkey
monkey.patch_all()
import json, os, time
os.environ.update(AWS_LAMBDA_FUNCTION_NAME="fn", LAMBDA_TASK_ROOT="/tmp", LAMBDA_OBSERVE_TRACING="false")
from lambda_observe import traced
from lambda_observe.testing import LambdaContext

native_sleep = monkey.get_original("time", "sleep")

@traced
def handler(kind, context):
    if kind == "busy":  # pure Python, never yields to gevent's hub
        end = time.time() + 0.4
        while time.time() < end:
            pass
    else:  # blocked in a C call gevent does not know
        native_sleep(0.4)
    return kind

for kind in ("busy", "blocked"):
    handler(kind, LambdaContext(aws_request_id=kind, timeout_s=0.6))
"""


def test_the_watcher_is_a_real_thread_under_gevent(tmp_path):
    """Under gevent's monkey-patching a ``threading`` thread is a greenlet, which would never run
    while a handler holds the hub: the watcher is an operating-system thread, so a CPU-bound handler
    and one blocked in C still get their warnings."""
    import json
    import subprocess
    import sys

    pytest.importorskip("gevent")
    script = tmp_path / "gevent_handler.py"
    script.write_text(_GEVENT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    warned = [
        json.loads(line)["function_request_id"] for line in done.stdout.splitlines() if "from its deadline" in line
    ]
    assert warned == ["busy", "blocked"], done.stdout


_FORK_MID_INVOCATION = """
import os, sys, threading, time
os.environ.update(AWS_LAMBDA_FUNCTION_NAME="fn", LAMBDA_TASK_ROOT="/tmp", LAMBDA_OBSERVE_TRACING="false",
                  LAMBDA_OBSERVE_LOG_LEVEL="ERROR")
import logging
from lambda_observe import traced
from lambda_observe.testing import LambdaContext

@traced
def handler(event, context):
    time.sleep(event)

background = threading.Thread(target=handler, args=(0.5, LambdaContext(aws_request_id="bg", timeout_s=30)))
background.start()
time.sleep(0.1)
pid = os.fork()
if pid == 0:  # the child has no background thread: its invocations overlap nothing
    logging.getLogger("lambda_observe").setLevel(logging.WARNING)
    for i in range(2):
        handler(0.3, LambdaContext(aws_request_id=f"child{i}", timeout_s=0.6))
    sys.stdout.flush()
    os._exit(0)
background.join()
os.waitpid(pid, 0)
"""


def test_a_child_forked_beside_a_running_invocation_is_not_left_overlapping(tmp_path):
    """A process forked while another thread runs an invocation: that thread does not exist in the
    child, so the child's own invocations are not taken as overlapping it (they would get no
    warning, and no trace when the header is the same)."""
    import json
    import subprocess
    import sys

    script = tmp_path / "fork_mid.py"
    script.write_text(_FORK_MID_INVOCATION)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert not [x for x in lines if "already running" in x["message"]], done.stdout
    assert [x["function_request_id"] for x in lines if "from its deadline" in x["message"]] == ["child0", "child1"]


def test_a_forked_child_gets_its_own_watcher(tmp_path):
    """A process forked after an invocation (a SnapStart restore is tested this way) has no watcher
    thread: it starts its own, and both processes warn of their own invocation."""
    import json
    import subprocess
    import sys

    script = tmp_path / "forked.py"
    script.write_text(_FORKED)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    warnings = [json.loads(line) for line in done.stdout.splitlines() if "from its deadline" in line]
    assert len(warnings) == 2, done.stdout
    assert len({w["function_request_id"] for w in warnings}) == 2


def test_a_users_own_sigalrm_handler_and_timer_are_left_alone(lambda_env, warnings_seen, free_sigalrm):
    """A handler that installs its own SIGALRM handler and arms its own interval timer during the
    invocation: our timer never fires into the user's handler, and the user's timer survives the
    end of the invocation (only a timer that is ours is cancelled)."""
    import signal
    import time

    lambda_env.monkeypatch.setenv("LAMBDA_OBSERVE_TIMEOUT_WARNING_MS", "2000")
    calls: list[int] = []

    def mine(signum, frame):
        calls.append(signum)

    previous = signal.getsignal(signal.SIGALRM)

    @traced
    def handler(event, context):
        signal.signal(signal.SIGALRM, mine)
        signal.setitimer(signal.ITIMER_REAL, 30.0)  # the user's own timer, far away
        time.sleep(0.6)  # past the moment our warning was due (0.3 s)
        return "ok"

    try:
        assert handler({}, LambdaContext(timeout_s=2.3)) == "ok"
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 25.0 < remaining <= 30.0, f"the user's timer was cancelled: {remaining}"
        assert calls == []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    # the warning does not use SIGALRM: the user's timer and handler take nothing from it
    assert [m for m in warnings_seen.messages if "from its deadline" in m]


def test_our_pending_timer_is_cancelled_when_the_user_took_the_signal(lambda_env, warnings_seen, free_sigalrm):
    """A handler that installs its own SIGALRM handler and arms nothing: our pending timer is ours,
    so it is cancelled at the end and never fires into the user's handler afterwards."""
    import signal
    import time

    lambda_env.monkeypatch.setenv("LAMBDA_OBSERVE_TIMEOUT_WARNING_MS", "500")
    calls: list[int] = []

    def mine(signum, frame):
        calls.append(signum)

    previous = signal.getsignal(signal.SIGALRM)

    @traced
    def handler(event, context):
        signal.signal(signal.SIGALRM, mine)
        return "ok"

    try:
        assert handler({}, LambdaContext(timeout_s=1.0)) == "ok"  # our timer due in 0.5 s
        assert signal.getitimer(signal.ITIMER_REAL)[0] == 0.0
        time.sleep(0.7)
        assert calls == []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_WATCHDOG = """
import os, signal, sys, time
os.environ.update(AWS_LAMBDA_FUNCTION_NAME="fn", LAMBDA_TASK_ROOT="/tmp", LAMBDA_OBSERVE_TRACING="false")
from lambda_observe import traced
from lambda_observe.testing import LambdaContext

@traced
def handler(event, context):
    if event.get("watchdog"):
        signal.alarm(1)  # the handler's own watchdog: SIGALRM's default action ends the process
    return "ok"

handler({"watchdog": True}, LambdaContext(timeout_s=60))
if sys.argv[1] == "next":
    handler({}, LambdaContext(timeout_s=60))  # the next invocation arms and disarms its own timer
time.sleep(5)
print("still alive")
"""


@pytest.mark.parametrize("then", ["sleep", "next"])
def test_a_handlers_alarm_watchdog_still_ends_the_process(tmp_path, then):
    """``signal.alarm`` with SIGALRM's default action, armed in one invocation: it ends the process
    when it comes due, as without us, whether the next invocation ran meanwhile or not (our handler
    passes a SIGALRM that is not ours on to the default action; an invocation that finds the
    handler's timer pending leaves it alone)."""
    import signal
    import subprocess
    import sys

    script = tmp_path / "watchdog.py"
    script.write_text(_WATCHDOG)
    done = subprocess.run([sys.executable, str(script), then], capture_output=True, text=True, timeout=30)
    assert done.returncode == -signal.SIGALRM, (done.returncode, done.stdout, done.stderr)
    assert "still alive" not in done.stdout


def test_a_users_timer_due_with_ours_is_kept(lambda_env, free_sigalrm):
    """The handler's own guard with the same margin as ours (its own SIGALRM handler): it replaced
    ours, so it is still pending after the invocation, however close its due time is to ours."""
    import signal

    lambda_env.monkeypatch.setenv("LAMBDA_OBSERVE_TIMEOUT_WARNING_MS", "500")
    previous = signal.getsignal(signal.SIGALRM)

    @traced
    def handler(event, context):
        signal.signal(signal.SIGALRM, lambda s, f: None)
        signal.setitimer(signal.ITIMER_REAL, context.get_remaining_time_in_millis() / 1000 - 0.5)
        return "ok"

    try:
        assert handler({}, LambdaContext(timeout_s=30)) == "ok"
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 28.0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_context_giving_nan_leaves_the_watcher_working(lambda_env, warnings_seen):
    """A context whose remaining time is NaN (a test double, say) is not watched, and the watcher
    still warns for the next invocation (a NaN sleep used to end the watcher thread for good)."""
    import time

    lambda_env.monkeypatch.setenv("LAMBDA_OBSERVE_TIMEOUT_WARNING_MS", "500")

    class NanContext:
        aws_request_id = "nan"

        def get_remaining_time_in_millis(self) -> float:
            return float("nan")

    @traced
    def handler(event, context):
        time.sleep(event)
        return event

    assert handler(0.05, NanContext()) == 0.05
    assert handler(0.3, LambdaContext(aws_request_id="normal", timeout_s=0.6)) == 0.3
    assert [m.split()[1] for m in warnings_seen.messages if "from its deadline" in m] == ["normal"]
