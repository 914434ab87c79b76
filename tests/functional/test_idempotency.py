"""The idempotency state machine through the public decorators, on the in-memory store."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from typing import Any

import pydantic
import pytest

from lambda_observe import get_logger, idempotent, idempotent_function, traced
from lambda_observe.idempotency import (
    AlreadyInProgressError,
    IdempotencyError,
    InMemoryStore,
    KeyMissingError,
    PayloadMismatchError,
    ResultNotSerializableError,
    StoreError,
)
from lambda_observe.testing import LambdaContext


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def counted(store: InMemoryStore) -> dict[str, int]:
    calls: dict[str, int] = {}
    for name in ("put_in_progress", "get", "complete", "delete"):
        original = getattr(store, name)

        def wrapper(*a: Any, _name: str = name, _orig: Any = original, **k: Any) -> Any:
            calls[_name] = calls.get(_name, 0) + 1
            return _orig(*a, **k)

        setattr(store, name, wrapper)
    return calls


def test_second_call_gets_the_stored_result(lambda_env):
    """The same key runs once; the duplicate gets the stored JSON result."""
    runs = []
    store = InMemoryStore()

    @idempotent(key="order_id", store=store)
    def handler(event, context):
        runs.append(event)
        return {"charged": event["amount"]}

    assert handler({"order_id": "a", "amount": 3}, LambdaContext()) == {"charged": 3}
    assert handler({"order_id": "a", "amount": 3}, LambdaContext()) == {"charged": 3}
    assert handler({"order_id": "b", "amount": 4}, LambdaContext()) == {"charged": 4}
    assert len(runs) == 2


def test_outcome_on_the_trace_and_in_the_logs(lambda_env, capsys):
    """The handler's subsegment is annotated miss/hit and log lines carry the outcome."""
    store = InMemoryStore()

    @traced
    @idempotent(key="id", store=store)
    def handler(event, context):
        get_logger("i").info("working")
        return 1

    handler({"id": 1}, LambdaContext())
    handler({"id": 1}, LambdaContext())
    docs = lambda_env.documents(2)
    assert sorted(d["annotations"]["idempotency"] for d in docs) == ["hit", "miss"]
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert line["idempotency"] == "miss"


def test_failure_removes_the_record_and_reraises(lambda_env):
    """A handler that raises leaves no record: the retry runs; the exception is unchanged."""
    store = InMemoryStore()
    attempts = []
    boom = RuntimeError("card declined")

    @idempotent(key="id", store=store)
    def handler(event, context):
        attempts.append(1)
        if len(attempts) == 1:
            raise boom
        return "charged"

    with pytest.raises(RuntimeError) as caught:
        handler({"id": 1}, LambdaContext())
    assert caught.value is boom
    assert handler({"id": 1}, LambdaContext()) == "charged"
    assert len(attempts) == 2


def test_concurrent_duplicate_is_refused(lambda_env):
    """While the first call runs, a duplicate gets AlreadyInProgressError (typed, retry later)."""
    store = InMemoryStore()
    started, release = threading.Event(), threading.Event()

    @idempotent(key="id", store=store)
    def handler(event, context):
        started.set()
        release.wait(5)
        return "done"

    results: list[Any] = []
    t = threading.Thread(target=lambda: results.append(handler({"id": 9}, LambdaContext())))
    t.start()
    started.wait(5)
    with pytest.raises(AlreadyInProgressError) as caught:
        handler({"id": 9}, LambdaContext())
    assert isinstance(caught.value, IdempotencyError) and caught.value.retry_after
    release.set()
    t.join()
    assert results == ["done"]
    assert handler({"id": 9}, LambdaContext()) == "done"


def test_payload_mismatch(lambda_env):
    """Same key with a different validated payload raises PayloadMismatchError."""

    @idempotent(key="id", validate="amount", store=InMemoryStore())
    def handler(event, context):
        return event["amount"]

    assert handler({"id": 1, "amount": 5}, LambdaContext()) == 5
    assert handler({"id": 1, "amount": 5, "note": "retry"}, LambdaContext()) == 5
    with pytest.raises(PayloadMismatchError):
        handler({"id": 1, "amount": 6}, LambdaContext())


def test_missing_key_runs_without_idempotency_and_warns_once(lambda_env, caplog):
    """By default a missing key runs the handler every time, with one warning."""
    runs = []

    @idempotent(key="order_id", store=InMemoryStore())
    def handler(event, context):
        runs.append(1)

    with caplog.at_level("WARNING", logger="lambda_observe"):
        handler({}, LambdaContext())
        handler({}, LambdaContext())
    assert len(runs) == 2
    assert len([r for r in caplog.records if "'order_id' selected no key" in r.getMessage()]) == 1


def test_missing_key_can_raise(lambda_env):
    """raise_on_missing_key=True raises KeyMissingError before running."""

    @idempotent(key="order_id", store=InMemoryStore(), raise_on_missing_key=True)
    def handler(event, context):
        raise AssertionError("must not run")

    with pytest.raises(KeyMissingError, match="order_id"):
        handler({"other": 1}, LambdaContext())


def test_json_string_bodies_are_reachable(lambda_env):
    """API Gateway bodies are JSON strings: body.order_id and powertools_json() both reach inside."""
    runs = []

    @idempotent(key="body.order_id", store=InMemoryStore())
    def a(event, context):
        runs.append("a")

    @idempotent(key="powertools_json(detail_text).order_id", store=InMemoryStore())
    def b(event, context):
        runs.append("b")

    for _ in range(2):
        a({"body": json.dumps({"order_id": "o-1"})}, LambdaContext())
        b({"detail_text": json.dumps({"order_id": "o-1"})}, LambdaContext())
    assert runs == ["a", "b"]


def test_stored_key_is_identity_plus_hash(lambda_env):
    """The record key is the function's identity and a SHA-256, never the raw payload."""
    store = InMemoryStore()

    @idempotent(key="card", store=store)
    def handler(event, context):
        return 1

    handler({"card": "4111111111111111"}, LambdaContext())
    (key,) = store._records
    assert "4111" not in key
    identity, digest = key.rsplit("#", 1)
    assert identity.endswith("test_stored_key_is_identity_plus_hash.<locals>.handler")
    assert len(digest) == 64 and int(digest, 16) >= 0


def test_expiry_and_crashed_attempt_takeover(lambda_env):
    """A completed record expires after expires_after; an in-progress one is taken over after its window."""
    clock = Clock()
    store = InMemoryStore()
    runs = []

    @idempotent(key="id", store=store, expires_after=60)
    def handler(event, context):
        runs.append(clock.now)
        return len(runs)

    handler.idempotency.clock = clock
    assert handler({"id": 1}, LambdaContext()) == 1
    clock.now += 59
    assert handler({"id": 1}, LambdaContext()) == 1
    clock.now += 2
    assert handler({"id": 1}, LambdaContext()) == 2

    # A crashed attempt: an in-progress record whose window (the remaining time) is 10 s.
    from lambda_observe.idempotency._record import IN_PROGRESS, Record

    key = next(iter(store._records))
    store._records[key] = Record(key, IN_PROGRESS, clock.now + 60, clock.now + 10, None, None, "dead")
    with pytest.raises(AlreadyInProgressError):
        handler({"id": 1}, LambdaContext())
    clock.now += 11
    assert handler({"id": 1}, LambdaContext()) == 3


def test_in_progress_window_is_the_remaining_time_with_a_cap(lambda_env):
    """The in-progress expiry is now + remaining time, capped by in_progress_timeout."""
    clock = Clock()
    store = InMemoryStore()

    @idempotent(key="id", store=store, in_progress_timeout=5)
    def capped(event, context):
        return store.get(next(iter(store._records))).in_progress_expiry - clock.now

    capped.idempotency.clock = clock
    assert capped({"id": 1}, LambdaContext(timeout_s=3)) == pytest.approx(3, abs=0.1)
    store.clear()
    assert capped({"id": 2}, LambdaContext(timeout_s=30)) == pytest.approx(5, abs=0.01)


def test_local_cache_serves_duplicates_without_the_store(lambda_env):
    """With local_cache, a duplicate of a completed key makes no store call."""
    store = InMemoryStore()
    calls = counted(store)

    @idempotent(key="id", store=store, local_cache=16)
    def handler(event, context):
        return "r"

    handler({"id": 1}, LambdaContext())
    before = dict(calls)
    assert handler({"id": 1}, LambdaContext()) == "r"
    assert calls == before


def test_switch_off(lambda_env, monkeypatch):
    """LAMBDA_OBSERVE_IDEMPOTENCY=false runs every call, touching no store."""
    monkeypatch.setenv("LAMBDA_OBSERVE_IDEMPOTENCY", "false")
    store = InMemoryStore()
    calls = counted(store)
    runs = []

    @idempotent(key="id", store=store)
    def handler(event, context):
        runs.append(1)

    handler({"id": 1}, LambdaContext())
    handler({"id": 1}, LambdaContext())
    assert len(runs) == 2 and calls == {}


@dataclasses.dataclass
class Receipt:
    order: str
    total: float


class Invoice(pydantic.BaseModel):
    number: int
    lines: list[str]


def test_dataclass_and_pydantic_results(lambda_env):
    """Dataclasses and pydantic models are stored as JSON and rebuilt with output_type."""
    store = InMemoryStore()

    @idempotent(key="id", store=store, output_type=Receipt)
    def dc(event, context):
        return Receipt("o", 2.5)

    @idempotent(key="id", store=store, output_type=Invoice)
    def pm(event, context):
        return Invoice(number=7, lines=["a"])

    assert dc({"id": 1}, LambdaContext()) == Receipt("o", 2.5)
    assert dc({"id": 1}, LambdaContext()) == Receipt("o", 2.5)
    assert pm({"id": 1}, LambdaContext()) == Invoice(number=7, lines=["a"])
    assert pm({"id": 1}, LambdaContext()) == Invoice(number=7, lines=["a"])
    # stored as JSON objects (never pickled): each record's text is the JSON of the fields
    stored = sorted((json.loads(r.result) for r in store._records.values()), key=lambda d: sorted(d))
    assert stored == [{"lines": ["a"], "number": 7}, {"order": "o", "total": 2.5}]


def test_unserializable_result_is_a_typed_error_and_frees_the_key(lambda_env):
    """A result that is not JSON raises ResultNotSerializableError; the key is free again."""
    store = InMemoryStore()

    @idempotent(key="id", store=store)
    def handler(event, context):
        return object()

    with pytest.raises(ResultNotSerializableError, match="JSON"):
        handler({"id": 1}, LambdaContext())
    assert store._records == {}


def test_idempotent_function_on_an_argument(lambda_env):
    """idempotent_function keys on the named argument, sync and async, dataclass arguments too."""
    store = InMemoryStore()
    runs = []

    @idempotent_function(arg="order", key="id", store=store)
    def charge(order: dict, note: str = "") -> dict:
        runs.append(order["id"])
        return {"charged": order["id"]}

    @idempotent_function(arg="receipt", key="order", store=store)
    async def send(receipt: Receipt) -> str:
        runs.append(receipt.order)
        return "sent"

    assert charge({"id": 1}) == charge(order={"id": 1}, note="again") == {"charged": 1}
    assert asyncio.run(send(Receipt("x", 1))) == asyncio.run(send(Receipt("x", 1))) == "sent"
    assert runs == [1, "x"]
    with pytest.raises(ValueError, match="has no parameter 'nope'"):
        idempotent_function(arg="nope", store=store)(lambda order: None)


@pytest.mark.parametrize(
    ("url", "message"),
    [("ftp://x", "unknown scheme"), ("just-a-name", "expected a URL"), ("dynamodb://t?colour=red", "unknown option")],
)
def test_bad_store_urls(url, message):
    """A bad store URL is refused at decoration time, naming the accepted forms."""
    with pytest.raises(ValueError, match=message):
        idempotent(key="id", store=url)(lambda e, c: None)


def test_bad_key_expression():
    """A key that is not JMESPath is refused at decoration time."""
    with pytest.raises(ValueError, match="not valid JMESPath"):
        idempotent(key="body.[", store=InMemoryStore())(lambda e, c: None)


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:{port}/0", "dynamodb://t?region=us-east-1&endpoint=http://127.0.0.1:{port}"]
)
def test_unreachable_store_raises_store_error_and_does_not_run(lambda_env, monkeypatch, url):
    """When the store cannot be reached, StoreError names it and the handler does not run."""
    from tests.servers import free_port

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    runs = []

    @idempotent(key="id", store=url.format(port=free_port()))
    def handler(event, context):
        runs.append(1)

    with pytest.raises(StoreError) as caught:
        handler({"id": 1}, LambdaContext())
    assert runs == []
    assert caught.value.store.split(":")[0] in ("redis", "dynamodb")


def test_default_store_is_sqlite_with_one_warning_in_lambda(lambda_env, monkeypatch, tmp_path, caplog):
    """With no store configured: a SQLite file in the temp dir, and in Lambda one warning that it
    only dedupes within one execution environment."""
    monkeypatch.delenv("LAMBDA_OBSERVE_IDEMPOTENCY_STORE")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    from lambda_observe import testing
    from lambda_observe.idempotency import SQLiteStore

    testing.reset()
    runs = []

    @idempotent(key="id")
    def handler(event, context):
        runs.append(1)
        return "once"

    with caplog.at_level("WARNING", logger="lambda_observe"):
        assert handler({"id": 1}, LambdaContext()) == handler({"id": 1}, LambdaContext()) == "once"
    assert runs == [1]
    assert isinstance(handler.idempotency.store, SQLiteStore)
    assert handler.idempotency.store.path.startswith(str(tmp_path))
    warnings = [r for r in caplog.records if "only dedupes within one execution environment" in r.getMessage()]
    assert len(warnings) == 1


SECRET = "S3cretPW-9f"


def _down_urls(port: int) -> list[str]:
    return [
        f"redis://default:{SECRET}@127.0.0.1:{port}/0",
        f"rediss://:{SECRET}@127.0.0.1:{port}/0",
        f"redis://127.0.0.1:{port}/0?password={SECRET}",
        f"dynamodb://t?region=us-east-1&endpoint=http://user:{SECRET}@127.0.0.1:{port}",
        f"dynamodb://t?region=us-east-1&endpoint=http%3A%2F%2Fu%3A{SECRET}%40127.0.0.1%3A{port}",
    ]


@pytest.mark.parametrize("index", range(5))
def test_store_credentials_never_leave_the_process(lambda_env, monkeypatch, capsys, caplog, assert_valid, index):
    """A store URL with a password (user info, query, encoded, in a DynamoDB endpoint) and the store
    down: the password is in no message, repr, traceback, log line or X-Ray document."""
    import traceback

    from tests.servers import free_port

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    url = _down_urls(free_port())[index]

    @traced
    @idempotent(key="id", store=url)
    def handler(event, context):
        raise AssertionError("must not run")

    with caplog.at_level("INFO"), pytest.raises(StoreError) as caught:
        handler({"id": 1}, LambdaContext())
    exc = caught.value
    docs = lambda_env.documents(1)
    assert_valid(docs)
    assert docs[0]["cause"]["exceptions"][0]["type"] == "StoreError"
    seen = {
        "message": str(exc),
        "repr": repr(exc),
        "traceback": "".join(traceback.format_exception(exc)),
        "store": repr(handler.__wrapped__.idempotency.store) + str(handler.__wrapped__.idempotency.store.name),
        "logs": capsys.readouterr().out + caplog.text,
        "xray": json.dumps(docs),
    }
    chain, todo = [], [exc]
    while todo:  # everything reachable from the StoreError: its cause and its context
        current = todo.pop()
        if current is not None and all(current is not c for c in chain):
            chain.append(current)
            todo += [current.__cause__, current.__context__]
    seen["chain"] = " ".join(f"{type(e).__module__}.{type(e).__name__} {e!r} {e.args!r}" for e in chain)
    assert "failed" in seen["message"] and "127.0.0.1" in seen["message"]
    leaked = [where for where, text in seen.items() if SECRET in text]
    assert leaked == [], f"the password reached: {leaked}"
    clients = [type(e) for e in chain if type(e).__module__.split(".")[0] in ("redis", "botocore", "urllib3")]
    assert clients == [], "the client's exception is still reachable from the StoreError"


@pytest.fixture
def redis_with_password(tmp_path):
    """A redis-server of the test's own that requires a password (not SECRET)."""
    import shutil
    import subprocess
    import time

    from tests.conftest import need
    from tests.servers import free_port, reachable

    binary = shutil.which("redis-server")
    need(binary is not None, "redis-server (Debian package redis-server) is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--requirepass", "the-right-one"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 10
        while not reachable("127.0.0.1", port):
            assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_wrong_password_against_a_real_redis(lambda_env, redis_with_password):
    """A real redis-server refusing the password: the StoreError says so without the password."""
    import traceback

    url = redis_with_password.replace("redis://", f"redis://default:{SECRET}@")

    @idempotent(key="id", store=url)
    def handler(event, context):
        raise AssertionError("must not run")

    with pytest.raises(StoreError) as caught:
        handler({"id": 1}, LambdaContext())
    text = str(caught.value) + repr(caught.value) + "".join(traceback.format_exception(caught.value))
    assert "AuthenticationError" in str(caught.value) and SECRET not in text


@pytest.mark.parametrize(
    "url",
    [
        f"sqlite:///tmp/x.db?key={SECRET}",
        f"ftp://u:{SECRET}@x",
        f"dynamodb://t?region=us-east-1&password={SECRET}",
        f"dynamodb://u:{SECRET}@t?region=us-east-1",
        f"redis://:{SECRET}@[::1",
        f"{SECRET}",
    ],
)
def test_refused_urls_do_not_repeat_the_secret(url):
    """A store URL refused at decoration says why without repeating its password."""
    import traceback

    with pytest.raises(ValueError) as caught:
        idempotent(key="id", store=url)(lambda e, c: None)
    text = str(caught.value) + "".join(traceback.format_exception(caught.value))
    assert "expected" in str(caught.value) or "unknown" in str(caught.value) or "not a valid" in str(caught.value)
    assert SECRET not in text


# -- replay failures are typed (fail closed) ----------------------------------------------------------


def _only_key(store: InMemoryStore) -> str:
    (key,) = store._records
    return key


def test_a_stored_value_output_type_rejects_is_a_typed_error(lambda_env):
    """With output_type, a stored value that fails validation raises ReplayError (an IdempotencyError)
    saying what was expected and what to do; the handler does not run again."""
    from lambda_observe.idempotency import ReplayError

    store = InMemoryStore()
    runs = []

    @idempotent(key="id", store=store, output_type=Invoice)
    def handler(event, context):
        runs.append(1)
        return {"number": "not a number", "lines": []}

    handler({"id": 1}, LambdaContext())
    with pytest.raises(ReplayError) as caught:
        handler({"id": 1}, LambdaContext())
    assert isinstance(caught.value, IdempotencyError)
    assert "Invoice" in str(caught.value) and "delete the record" in str(caught.value)
    assert caught.value.key == _only_key(store)
    assert runs == [1]


@pytest.mark.parametrize("text", ["~{bad", "{bad", "", None, '~{"~m":[[{"a":1},2]]}'], ids=repr)
def test_a_corrupt_or_missing_stored_result_is_a_typed_error(lambda_env, text):
    """A completed record whose result is not what lambda_observe writes (corrupt JSON, a tagged
    form that does not decode, or no result at all) raises ReplayError; the handler does not run."""
    from lambda_observe.idempotency import ReplayError

    store = InMemoryStore()
    runs = []

    @idempotent(key="id", store=store, local_cache=8)
    def handler(event, context):
        runs.append(1)
        return {"ok": True}

    handler({"id": 1}, LambdaContext())
    store._records[_only_key(store)].result = text
    handler.idempotency.cache = type(handler.idempotency.cache)(8)  # forget the good copy kept in process
    for _ in range(2):  # a bad record is never cached as if it were good
        with pytest.raises(ReplayError, match="cannot be replayed"):
            handler({"id": 1}, LambdaContext())
    assert runs == [1]


# -- the identity of a function, and name= --------------------------------------------------------------


def _factory(n: int, store: Any, name: str | None = None) -> Any:
    @idempotent(key="id", store=store, **({"name": name} if name else {}))
    def handler(event, context):
        return f"handler {n}"

    return handler


def test_factory_made_handlers_share_an_identity_unless_named(lambda_env):
    """Two handlers made by one factory have the same module.qualname, so they share records (the
    documented identity); name= gives each its own."""
    store = InMemoryStore()
    a, b = _factory(1, store), _factory(2, store)
    assert a.idempotency.identity == b.idempotency.identity
    assert a.idempotency.identity == f"test-fn.{__name__}._factory.<locals>.handler"
    assert a({"id": 1}, LambdaContext()) == "handler 1"
    assert b({"id": 1}, LambdaContext()) == "handler 1"  # shared: b replays a's result

    store = InMemoryStore()
    a, b = _factory(1, store, name="orders-v1"), _factory(2, store, name="orders-v2")
    assert a.idempotency.identity == "test-fn.orders-v1"
    assert a({"id": 1}, LambdaContext()) == "handler 1"
    assert b({"id": 1}, LambdaContext()) == "handler 2"


@pytest.mark.parametrize("name", ["", 5, " "])
def test_a_bad_name_is_refused(name):
    """name= must be a non-empty string; anything else is a ConfigError at decoration."""
    from lambda_observe.idempotency import ConfigError

    with pytest.raises(ConfigError, match="name="):
        idempotent(key="id", store=InMemoryStore(), name=name)(lambda e, c: None)


# -- configuration errors are typed ---------------------------------------------------------------------


@pytest.mark.parametrize("store", [object(), 5, b"redis://h", {"url": "redis://h"}])
def test_a_store_that_is_not_a_store_is_refused_when_decorating(store):
    """store= must be a URL or an object with the store methods: anything else is a ConfigError
    (also a ValueError) at decoration, naming what is accepted."""
    from lambda_observe.idempotency import ConfigError

    for decorate in (idempotent(key="id", store=store), idempotent_function(arg="o", key="id", store=store)):
        with pytest.raises(ConfigError) as caught:
            decorate(lambda o, c=None: None)
        assert isinstance(caught.value, ValueError) and isinstance(caught.value, IdempotencyError)
        assert "put_in_progress" in str(caught.value) and "redis://" in str(caught.value)


@pytest.mark.parametrize("url", ["mysql://u:QzSECRET@db/app", "not a url QzSECRET", "redis://:a/QzSECRET@h:1/0"])
def test_a_bad_store_in_the_environment_is_a_typed_error_at_call_time(lambda_env, monkeypatch, caplog, url):
    """A bad LAMBDA_OBSERVE_IDEMPOTENCY_STORE raises ConfigError naming the variable and the accepted
    forms when the function is first called; it does not run; the value's secret is nowhere."""
    from lambda_observe.idempotency import ConfigError

    monkeypatch.setenv("LAMBDA_OBSERVE_IDEMPOTENCY_STORE", url)
    runs = []

    @traced
    @idempotent(key="id")
    def handler(event, context):
        runs.append(1)

    with caplog.at_level("INFO"), pytest.raises(ConfigError) as caught:
        handler({"id": 1}, LambdaContext())
    assert runs == []
    assert "LAMBDA_OBSERVE_IDEMPOTENCY_STORE" in str(caught.value)
    assert "sqlite:///" in str(caught.value) or "percent-encode" in str(caught.value)
    docs = lambda_env.documents(1)
    assert docs[0]["cause"]["exceptions"][0]["type"] == "ConfigError"
    import traceback

    texts = str(caught.value) + "".join(traceback.format_exception(caught.value)) + caplog.text + json.dumps(docs)
    assert "QzSECRET" not in texts
