"""Every store against its real server: the contract, racing processes, a killed process,
and a stateful model of the state machine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

from lambda_observe.idempotency import AlreadyInProgressError, PayloadMismatchError
from lambda_observe.idempotency._core import Idempotency
from lambda_observe.idempotency._record import COMPLETED, IN_PROGRESS, Record
from tests.integration.stores import make_store, store_url
from tests.servers import create_idempotency_table

ROOT = Path(__file__).resolve().parents[2]


def record(key: str, attempt: str, now: float, window: float = 30, ttl: float = 3600) -> Record:
    return Record(key, IN_PROGRESS, now + ttl, now + window, "h", None, attempt)


def test_contract(store_target):
    """put-if-absent, the takeover rules, complete and delete only by the owning attempt."""
    store = make_store(*store_target)
    now = time.time()
    assert store.put_in_progress(record("k1", "a1", now), now) is None
    held = store.put_in_progress(record("k1", "a2", now), now)
    assert held is not None and held.status == IN_PROGRESS and held.attempt == "a1"
    store.complete("k1", "someone-else", "1", now + 10)  # not the owner: ignored
    assert store.get("k1").status == IN_PROGRESS
    store.complete("k1", "a1", '{"x":1}', now + 3600)
    done = store.put_in_progress(record("k1", "a3", now), now)
    assert done.status == COMPLETED and done.result == '{"x":1}'
    # an in-progress record whose window has passed is taken over
    assert store.put_in_progress(record("k2", "b1", now, window=5), now) is None
    assert store.put_in_progress(record("k2", "b2", now + 6), now + 6) is None
    assert store.get("k2").attempt == "b2"
    # a completed record past its expiry is replaced
    store.complete("k2", "b2", "2", now + 100)
    assert store.put_in_progress(record("k2", "b3", now + 101), now + 101) is None
    store.delete("k2", "nobody")
    assert store.get("k2") is not None
    store.delete("k2", "b3")
    assert store.get("k2") is None


def _spawn(url: str, log: Path, keys: list[str], sleep: float, timeout: float, seed: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.worker",
            url,
            str(log),
            ",".join(keys),
            str(sleep),
            str(timeout),
            str(seed),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
    )


@pytest.fixture(params=["sqlite", "redis"])
def atomic_store_target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """The stores whose server really is atomic under concurrent clients. moto's DynamoDB is not
    (its UpdateItem races), so DynamoDB gets the deterministic interleaving test below instead."""
    if request.param == "sqlite":
        return "sqlite", str(tmp_path / "race.db")
    return "redis", request.getfixturevalue("redis_url")


def test_racing_processes_run_each_key_once(atomic_store_target, tmp_path):
    """8 processes race over the same keys: each key runs exactly once; every caller gets
    the stored result or AlreadyInProgressError; no result is lost."""
    url = store_url(*atomic_store_target)
    log = tmp_path / "ran.log"
    keys = [f"key-{i}" for i in range(10)]
    procs = [_spawn(url, log, keys, 0.05, 60, seed) for seed in range(8)]
    outcomes: list[list[Any]] = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        line = next(x for x in out.splitlines() if x.startswith("OUTCOMES "))
        outcomes += json.loads(line[len("OUTCOMES ") :])
    ran = Counter(json.loads(x)["ran"] for x in log.read_text().splitlines())
    assert ran == Counter(keys), "every key must run exactly once"
    assert len(outcomes) == 8 * len(keys)
    for key, kind, value in outcomes:
        assert kind in ("result", "in_progress")
        if kind == "result":
            assert value == {"result": f"done-{key}"}
    # after the race, a latecomer gets every stored result and runs nothing
    late = _spawn(url, log, keys, 0.05, 60, 99)
    out, err = late.communicate(timeout=120)
    assert late.returncode == 0, err
    answers = json.loads(next(x for x in out.splitlines() if x.startswith("OUTCOMES "))[len("OUTCOMES ") :])
    assert sorted(answers) == sorted([k, "result", {"result": f"done-{k}"}] for k in keys)
    assert sum(1 for _ in log.read_text().splitlines()) == len(keys)


def _machine(store: Any, clock: Clock | None = None) -> Idempotency:
    return Idempotency(
        "interleave",
        key="k",
        validate=None,
        store=store,
        expires_after=100,
        in_progress_timeout=None,
        raise_on_no_key=True,
        local_cache=0,
        output_type=None,
        **({"clock": clock} if clock else {}),
    )


def test_two_clients_interleaved_step_by_step(store_target):
    """Two clients of one store (each its own connection), their steps interleaved in a fixed order:
    the second is refused while the first runs, then gets its result; a failed first attempt
    frees the key for the second; a crashed one is taken over after its window. Deterministic
    on every store, moto's DynamoDB included."""
    clock = Clock()
    first, second = make_store(*store_target), make_store(*store_target)
    if hasattr(first, "prefix"):  # redis: the two clients must share one key space
        second.prefix = first.prefix
    a, b = _machine(first, clock), _machine(second, clock)
    key = f"k-{time.monotonic_ns()}"

    step = a.begin({"k": key}, 10_000)
    assert not step.done
    with pytest.raises(AlreadyInProgressError):
        b.begin({"k": key}, 10_000)
    assert a.succeeded(step, {"n": 1}) == {"n": 1}
    answered = b.begin({"k": key}, 10_000)
    assert answered.done and answered.value == {"n": 1}

    failing = a.begin({"k": key + "-f"}, 10_000)
    a.failed(failing)
    taken = b.begin({"k": key + "-f"}, 10_000)
    assert not taken.done
    b.succeeded(taken, "b ran")
    assert a.begin({"k": key + "-f"}, 10_000).value == "b ran"

    a.begin({"k": key + "-c"}, 10_000)  # a crashes: its record stays in progress for 10 s
    with pytest.raises(AlreadyInProgressError):
        b.begin({"k": key + "-c"}, 10_000)
    clock.now += 11
    late = b.begin({"k": key + "-c"}, 10_000)
    assert not late.done
    b.succeeded(late, "after takeover")
    assert a.begin({"k": key + "-c"}, 10_000).value == "after takeover"


def test_killed_process_can_be_retried_after_its_window(store_target, tmp_path):
    """SIGKILL mid-handler: before the in-progress expiry a retry is refused; after it, it runs once."""
    url = store_url(*store_target)
    log = tmp_path / "ran.log"
    window = 5.0  # the victim's remaining time: its record's in-progress window
    victim = _spawn(url, log, ["order-7"], 30, window, 1)
    assert victim.stdout is not None
    deadline = time.monotonic() + 60
    while "STARTED" not in (victim.stdout.readline() or ""):
        assert time.monotonic() < deadline and victim.poll() is None, "worker did not start"
    started = time.monotonic()
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)

    early = _spawn(url, log, ["order-7"], 0, window, 2)
    out, err = early.communicate(timeout=60)
    assert early.returncode == 0, err
    assert '"in_progress"' in out
    assert time.monotonic() - started < window, "the early retry must land inside the window"

    time.sleep(max(0.0, window + 0.3 - (time.monotonic() - started)))
    late = _spawn(url, log, ["order-7"], 0, window, 3)
    out, err = late.communicate(timeout=60)
    assert late.returncode == 0, err
    assert '"result"' in out
    again = _spawn(url, log, ["order-7"], 0, window, 4)
    out, _ = again.communicate(timeout=60)
    assert '"result"' in out
    assert Counter(json.loads(x)["ran"] for x in log.read_text().splitlines()) == Counter({"order-7": 2})


class Clock:
    def __init__(self) -> None:
        self.now = 2_000_000_000.0

    def __call__(self) -> float:
        return self.now


class StateMachineModel(RuleBasedStateMachine):
    """Calls, duplicates, failures, payload changes and the clock, against a simple model."""

    kind = "sqlite"
    where = ""

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.idem = Idempotency(
            "model",
            key="k",
            validate="p",
            store=make_store(self.kind, self.where),
            expires_after=100,
            in_progress_timeout=None,
            raise_on_no_key=True,
            local_cache=0,
            output_type=None,
            clock=self.clock,
        )
        self.model: dict[str, dict[str, Any]] = {}
        self.runs = 0
        self.prefix = f"{id(self)}-{time.monotonic_ns()}-"

    def _live(self, key: str) -> dict[str, Any] | None:
        entry = self.model.get(key)
        if entry is None or entry["expiry"] < self.clock.now:
            return None
        if entry["status"] == "in_progress" and entry["window"] < self.clock.now:
            return None
        return entry

    @rule(key=st.sampled_from("abc"), payload=st.integers(0, 1), fail=st.booleans(), value=st.integers(0, 9))
    def call(self, key: str, payload: int, fail: bool, value: int) -> None:
        k = self.prefix + key
        live = self._live(k)
        before = self.runs

        def run() -> int:
            self.runs += 1
            if fail:
                raise RuntimeError("handler failed")
            return value

        if live is not None:
            if live["payload"] != payload:
                with pytest.raises(PayloadMismatchError):
                    self.idem.run(run, {"k": k, "p": payload}, 10_000)
            elif live["status"] == "completed":
                assert self.idem.run(run, {"k": k, "p": payload}, 10_000) == live["value"]
            else:
                with pytest.raises(AlreadyInProgressError):
                    self.idem.run(run, {"k": k, "p": payload}, 10_000)
            assert self.runs == before
            return
        if fail:
            with pytest.raises(RuntimeError):
                self.idem.run(run, {"k": k, "p": payload}, 10_000)
            self.model.pop(k, None)
        else:
            assert self.idem.run(run, {"k": k, "p": payload}, 10_000) == value
            self.model[k] = {
                "status": "completed",
                "value": value,
                "payload": payload,
                "expiry": self.clock.now + 100,
                "window": self.clock.now + 10,
            }
        assert self.runs == before + 1

    @rule(key=st.sampled_from("abc"), payload=st.integers(0, 1))
    def crash_mid_run(self, key: str, payload: int) -> None:
        """A process took the key and died: an in-progress record with a 10 s window."""
        k = self.prefix + key
        if self._live(k) is not None:
            return
        step = self.idem.begin({"k": k, "p": payload}, 10_000)
        assert not step.done
        self.model[k] = {
            "status": "in_progress",
            "payload": payload,
            "expiry": self.clock.now + 100,
            "window": self.clock.now + 10,
        }

    @rule(seconds=st.sampled_from([1, 5, 11, 60, 101]))
    def advance(self, seconds: int) -> None:
        self.clock.now += seconds


def test_state_machine_against_a_model(store_target, tmp_path):
    """Hypothesis drives the state machine on each real store and compares with the model."""
    kind, where = store_target
    StateMachineModel.kind, StateMachineModel.where = kind, where
    examples = 12 if kind == "dynamodb" else 40
    test = StateMachineModel.TestCase
    test.settings = settings(
        max_examples=examples, stateful_step_count=12, deadline=None, suppress_health_check=list(HealthCheck)
    )
    test("runTest").runTest()


@pytest.fixture(params=["redis", "dynamodb"])
def server_store_target(request: pytest.FixtureRequest) -> tuple[str, str]:
    """Redis (our redis-server) and DynamoDB (moto's server), for the results property."""
    kind = request.param
    if kind == "redis":
        return kind, request.getfixturevalue("redis_url")
    endpoint = request.getfixturevalue("moto_endpoint")
    table = f"idem-{uuid.uuid4().hex[:8]}"
    create_idempotency_table(endpoint, table)
    return kind, f"{endpoint}#{table}"


def test_generated_results_through_real_servers(server_store_target):
    """Hypothesis through a real Redis and moto's DynamoDB: every JSON-awkward result replays in its
    documented form (Decimals exactly) or takes the one failure path, leaving no record."""
    from hypothesis import given

    from tests.unit.test_idempotency_results import check_result, results

    store = make_store(*server_store_target)
    examples = 25 if server_store_target[0] == "dynamodb" else 60
    run = given(value=results)(
        settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))(
            lambda value: check_result(store, value)
        )
    )
    run()


def test_a_result_dynamodb_refuses_takes_the_unstorable_path(moto_endpoint):
    """A result over DynamoDB's 400 KB item limit, refused by moto's server with ValidationException:
    ResultNotSerializableError (the value on .result), the record deleted, and the retry runs
    rather than being refused as in progress for the whole window."""
    from lambda_observe import idempotent
    from lambda_observe.idempotency import DynamoDBStore, ResultNotSerializableError
    from lambda_observe.idempotency._keys import digest
    from lambda_observe.testing import LambdaContext

    table = f"idem-{uuid.uuid4().hex[:8]}"
    create_idempotency_table(moto_endpoint, table)
    store = DynamoDBStore(table, region="us-east-1", endpoint_url=moto_endpoint)
    runs = []
    big = "x" * 500_000

    @idempotent(key="id", store=store)
    def handler(event, context):
        runs.append(1)
        return big

    for attempt in (1, 2):
        with pytest.raises(ResultNotSerializableError, match="refused") as caught:
            handler({"id": "o-1"}, LambdaContext())
        assert caught.value.result is big
        assert len(runs) == attempt
        assert store.get(f"{handler.idempotency.identity}#{digest('o-1')}") is None


def test_corrupt_records_on_real_servers_are_typed_errors(redis_url, moto_endpoint):
    """On a real Redis a record whose result is not JSON ("~{bad"), and on moto's DynamoDB a
    COMPLETED item with no data attribute: ReplayError, and the handler does not run again."""
    import redis

    from lambda_observe import idempotent
    from lambda_observe.idempotency import DynamoDBStore, RedisStore, ReplayError
    from lambda_observe.testing import LambdaContext

    table = f"idem-{uuid.uuid4().hex[:8]}"
    create_idempotency_table(moto_endpoint, table)
    stores = [
        RedisStore(redis_url, prefix=f"t{uuid.uuid4().hex[:6]}:"),
        DynamoDBStore(table, region="us-east-1", endpoint_url=moto_endpoint),
    ]
    for store in stores:
        runs = []

        @idempotent(key="id", store=store)
        def handler(event, context, runs=runs):
            runs.append(1)
            return {"ok": True}

        handler({"id": 1}, LambdaContext())
        if isinstance(store, RedisStore):
            client = redis.Redis.from_url(redis_url)
            (name,) = client.keys(store.prefix + "*")
            record = json.loads(client.get(name))
            client.set(name, json.dumps({**record, "result": "~{bad"}), keepttl=True)
        else:
            (item,) = store._dynamodb().scan(TableName=table)["Items"]
            store._dynamodb().update_item(
                TableName=table,
                Key={"id": item["id"]},
                UpdateExpression="REMOVE #d",
                ExpressionAttributeNames={"#d": "data"},
            )
        with pytest.raises(ReplayError, match="delete the record"):
            handler({"id": 1}, LambdaContext())
        assert runs == [1], type(store).__name__
