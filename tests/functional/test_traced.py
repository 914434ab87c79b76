"""Whole decorated handlers in a Lambda-like environment, checked on the real UDP datagrams."""

from __future__ import annotations

import asyncio
import inspect
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lambda_observe import add_metadata, annotate, capture, is_cold_start, propagate, subsegment, traced
from lambda_observe.testing import LambdaContext, parse_datagram


def by_name(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in docs}


def test_datagram_header_and_schema(lambda_env, assert_valid):
    """Each datagram starts with the daemon header line; every document validates."""

    @traced
    def handler(event, context):
        with subsegment("db", table="orders"):
            pass
        return {"ok": True}

    assert handler({}, LambdaContext()) == {"ok": True}
    docs = lambda_env.documents(2)
    raw = lambda_env.collector.datagrams
    assert all(r.split(b"\n", 1)[0] for r in raw)
    for datagram in raw:
        parse_datagram(datagram)  # raises on a wrong header
    assert_valid(docs)
    assert_valid(lambda_env.collector.documents)  # as sent: "db" nested in the handler's document
    assert len(raw) == 1, "a small trace is one datagram"
    names = by_name(docs)
    assert set(names) == {"## handler", "db"}
    assert names["db"]["annotations"] == {"table": "orders"}


def test_tree_trace_ids_and_cold_start(lambda_env, assert_valid):
    """The handler hangs off the Lambda segment; nested blocks off it; ColdStart true then false."""

    @traced(service="orders")
    def handler(event, context):
        assert is_cold_start() == (event["n"] == 0)
        with subsegment("outer"), subsegment("inner"):
            annotate("step", 2)
        return event["n"]

    for n in range(2):
        lambda_env.collector.clear()
        lambda_env.new_trace()
        assert handler({"n": n}, LambdaContext()) == n
        docs = by_name(lambda_env.documents(3))
        assert_valid(list(docs.values()))
        top = docs["## handler"]
        assert top["trace_id"] == lambda_env.root
        assert top["parent_id"] == lambda_env.parent
        assert top["annotations"]["ColdStart"] is (n == 0)
        assert top["annotations"]["Service"] == "orders"
        assert docs["outer"]["parent_id"] == top["id"]
        assert docs["inner"]["parent_id"] == docs["outer"]["id"]
        assert docs["inner"]["annotations"] == {"step": 2}
        assert all(d["trace_id"] == lambda_env.root for d in docs.values())
    assert is_cold_start() is False  # outside an invocation


def test_provisioned_concurrency_is_never_cold(lambda_env, monkeypatch):
    """Under provisioned concurrency the first invocation is not a cold start."""
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "provisioned-concurrency")
    from lambda_observe import testing

    testing.reset()

    @traced
    def handler(event, context):
        return is_cold_start()

    assert handler({}, LambdaContext()) is False
    assert by_name(lambda_env.documents(1))["## handler"]["annotations"]["ColdStart"] is False


def test_exception_is_recorded_and_reraised_unchanged(lambda_env, assert_valid):
    """An escaping exception marks fault, carries type/message/stack, and is the same object."""
    boom = KeyError("missing")

    @traced
    def handler(event, context):
        with subsegment("db"):
            raise boom

    with pytest.raises(KeyError) as caught:
        handler({}, LambdaContext())
    assert caught.value is boom
    docs = by_name(lambda_env.documents(2))
    assert_valid(list(docs.values()))
    db, top = docs["db"], docs["## handler"]
    assert db["fault"] is True and top["fault"] is True
    exc = db["cause"]["exceptions"][0]
    assert exc["type"] == "KeyError" and "missing" in exc["message"]
    assert exc["stack"][0]["label"] == "handler"
    assert top["cause"] == exc["id"]  # the parent refers to the recorded exception


NOT_FOUND = LookupError("order not found")  # one instance, raised by every invocation (module level)


def test_an_exception_raised_again_is_described_in_full_each_invocation(lambda_env, assert_valid):
    """A module-level exception instance raised in two invocations: each trace carries its full
    cause (type, message, stack), the handler's subsegment refers to its own trace's id, and the
    exception object is left as it was (no attribute added; a pickle round trip adds nothing)."""
    import pickle

    before = dict(vars(NOT_FOUND))

    @traced
    def handler(event, context):
        with subsegment("lookup"):
            raise NOT_FOUND

    causes = []
    for _ in range(2):
        with pytest.raises(LookupError) as caught:
            handler({}, LambdaContext())
        assert caught.value is NOT_FOUND
        docs = by_name(lambda_env.documents(2))
        lambda_env.collector.clear()
        assert_valid(list(docs.values()))
        cause = docs["lookup"]["cause"]
        assert isinstance(cause, dict), cause
        (entry,) = cause["exceptions"]
        assert entry["type"] == "LookupError" and "order not found" in entry["message"] and entry["stack"]
        assert docs["## handler"]["cause"] == entry["id"]
        causes.append(entry["id"])
    assert causes[0] != causes[1]
    assert vars(NOT_FOUND) == before
    again = pickle.loads(pickle.dumps(NOT_FOUND))
    assert vars(again) == before and again.args == NOT_FOUND.args


def test_the_name_characters_are_the_schemas(xray_validator):
    """The characters clean_name allows are exactly the character class of the schema's name pattern."""
    from lambda_observe.tracing._xray_names import NAME_CLASS

    assert xray_validator.schema["properties"]["name"]["pattern"] == f"^[{NAME_CLASS}]{{1,200}}$"
    # the ASCII fast path allows exactly what the pattern allows
    import re

    from lambda_observe.tracing._span import clean_name

    pattern = re.compile(xray_validator.schema["properties"]["name"]["pattern"])
    for code in range(128):
        char = chr(code)
        expected = char if pattern.search(char) and char != "\n" else "_"
        assert clean_name(f"a{char}") == f"a{expected}", repr(char)


@settings(max_examples=300, deadline=None)
@given(name=st.text(min_size=0, max_size=250))
@example(name="\u0860x")
@example(name="\u9fd6")
@example(name="\u1c80")
@example(name="\U0001d400bc")
@example(name="a\n")
def test_any_subsegment_name_gives_a_valid_document(xray_validator, name):
    """Whatever str a subsegment is named, its document validates against the X-Ray schema."""
    from lambda_observe.tracing._span import Root, Span

    root = Root("1-5759e988-bd862e3fe1be46a994272793", "a" * 16)
    span = Span(name, root, root)
    span.close()
    doc = span.to_dict()
    errors = [e.message for e in xray_validator.iter_errors(doc)]
    assert not errors, (name, doc["name"], errors)


def test_response_metadata_and_switch(lambda_env, monkeypatch):
    """The response is stored as metadata, unless capture_response=False."""

    @traced(service="svc")
    def on(event, context):
        return {"a": 1}

    @traced(capture_response=False)
    def off(event, context):
        return {"a": 1}

    on({}, LambdaContext())
    off({}, LambdaContext())
    docs = by_name(lambda_env.documents(2))
    assert docs["## on"]["metadata"]["svc"]["on response"] == {"a": 1}
    assert "metadata" not in docs["## off"]


def test_async_handler_and_gather_nesting(lambda_env, assert_valid):
    """An async handler gets a sync entry; gathered tasks nest under the block that created them."""

    async def fetch(name: str) -> str:
        async with subsegment(f"fetch {name}"):
            await asyncio.sleep(0.01)
        return name

    @traced
    async def handler(event, context):
        async with subsegment("fan-out"):
            return await asyncio.gather(fetch("a"), fetch("b"), fetch("c"))

    assert not inspect.iscoroutinefunction(handler)
    assert handler({}, LambdaContext()) == ["a", "b", "c"]
    docs = by_name(lambda_env.documents(5))
    assert_valid(list(docs.values()))
    fan = docs["fan-out"]
    for name in "abc":
        assert docs[f"fetch {name}"]["parent_id"] == fan["id"]
    assert fan["parent_id"] == docs["## handler"]["id"]


def test_thread_helper_keeps_the_parent(lambda_env):
    """Work in a ThreadPoolExecutor nests under the current block through propagate()."""

    def work(n: int) -> int:
        with subsegment(f"work {n}"):
            return n * 2

    @traced
    def handler(event, context):
        with subsegment("pool"), ThreadPoolExecutor(max_workers=3) as pool:
            return list(pool.map(propagate(work), range(4)))

    assert handler({}, LambdaContext()) == [0, 2, 4, 6]
    docs = by_name(lambda_env.documents(6))
    for n in range(4):
        assert docs[f"work {n}"]["parent_id"] == docs["pool"]["id"]


def test_capture_kinds_keep_signatures(lambda_env, assert_valid):
    """@capture on functions, coroutines, generators, async generators and methods."""

    def raw_plain(a: int, b: str = "x") -> str:
        return f"{a}{b}"

    async def raw_coro(n: int) -> int:
        return n + 1

    plain = capture(raw_plain)
    coro = capture("named")(raw_coro)

    @capture
    def gen(n: int):
        yield from range(n)

    @capture
    async def agen(n: int):
        for i in range(n):
            yield i

    class Service:
        @capture
        def method(self, x: int) -> int:
            return x * 3

        @classmethod
        @capture
        def klass(cls) -> str:
            return cls.__name__

    assert inspect.signature(plain) == inspect.signature(raw_plain)
    assert inspect.signature(coro) == inspect.signature(raw_coro)
    assert plain.__name__ == "raw_plain" and plain.__doc__ == raw_plain.__doc__
    assert inspect.iscoroutinefunction(coro)

    @traced
    def handler(event, context):
        async def run_async():
            return await coro(1), [i async for i in agen(3)]

        return plain(1), asyncio.run(run_async()), list(gen(3)), Service().method(2), Service.klass()

    assert handler({}, LambdaContext()) == ("1x", (2, [0, 1, 2]), [0, 1, 2], 6, "Service")
    docs = by_name(lambda_env.documents(7))
    assert_valid(list(docs.values()))
    top = docs["## handler"]["id"]
    for name in (
        "## test_capture_kinds_keep_signatures.raw_plain",
        "named",
        "## test_capture_kinds_keep_signatures.gen",
        "## test_capture_kinds_keep_signatures.agen",
        "## test_capture_kinds_keep_signatures.Service.method",
        "## test_capture_kinds_keep_signatures.Service.klass",
    ):
        assert docs[name]["parent_id"] == top, name


def test_generator_exception_is_recorded(lambda_env):
    """An exception inside a captured generator marks its subsegment and propagates."""

    @capture("gen")
    def gen():
        yield 1
        raise ValueError("bad item")

    @traced
    def handler(event, context):
        return list(gen())

    with pytest.raises(ValueError, match="bad item"):
        handler({}, LambdaContext())
    docs = by_name(lambda_env.documents(2))
    assert docs["gen"]["fault"] is True


def test_annotation_keys_and_values_fit_xray(lambda_env, assert_valid):
    """Keys are made to fit the pattern; long strings cut at 1,000; odd values become strings."""

    @traced
    def handler(event, context):
        annotate("customer-tier.name", "gold")
        annotate("long", "x" * 5000)
        annotate("obj", {"a": 1})
        annotate("nan", float("nan"))
        add_metadata("blob", {"nested": [1, 2, {3}]})

    handler({}, LambdaContext())
    doc = lambda_env.documents(1)[0]
    assert_valid([doc])
    ann = doc["annotations"]
    assert ann["customer_tier_name"] == "gold"
    assert len(ann["long"]) == 1000
    assert ann["obj"] == "{'a': 1}"
    assert ann["nan"] == "nan"
    assert doc["metadata"]["test-fn"]["blob"] == {"nested": [1, 2, [3]]}


@pytest.mark.parametrize(
    "setting",
    [("LAMBDA_OBSERVE_TRACING", "false"), ("AWS_XRAY_SDK_ENABLED", "false")],
)
def test_switched_off_sends_nothing(lambda_env, monkeypatch, setting):
    """The per-environment switch makes tracing a no-op; the handler is unaffected."""
    monkeypatch.setenv(*setting)

    @traced
    def handler(event, context):
        with subsegment("db"):
            annotate("a", 1)
        return 7

    assert handler({}, LambdaContext()) == 7
    assert lambda_env.documents() == []


@pytest.mark.parametrize(
    "header",
    [
        None,
        "garbage",
        "Root=1-bad;Sampled=1",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0",
        # the X-Ray SDK under Lambda sends nothing for these either (see lambda_observe._trace_header)
        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",  # no Parent: no id to attach to
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=?",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
    ],
)
def test_no_header_malformed_or_unsampled_is_quiet(lambda_env, monkeypatch, caplog, header):
    """Outside a trace every call is a quiet no-op: no document, no warning. A missing Parent, an
    undecided or missing Sampled count as outside a trace."""
    if header is None:
        monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    else:
        monkeypatch.setenv("_X_AMZN_TRACE_ID", header)

    @traced
    def handler(event, context):
        with subsegment("db"):
            annotate("a", 1)
            add_metadata("m", 1)
        return "done"

    with caplog.at_level("WARNING"):
        assert handler({}, None) == "done"
    assert lambda_env.documents() == []
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_outside_any_invocation_is_quiet(caplog):
    """subsegment/annotate/capture with no invocation at all: no error, no warning."""

    @capture
    def f() -> int:
        with subsegment("x"):
            annotate("k", "v")
        return 1

    with caplog.at_level("DEBUG"):
        assert f() == 1
    assert not [r for r in caplog.records if r.levelno >= 30]


@pytest.mark.parametrize("address", ["127.0.0.1:1", "not-an-address", "999.999.0.1:2000", "udp:x tcp:y"])
def test_unreachable_or_invalid_daemon_changes_nothing(lambda_env, monkeypatch, address):
    """A bad daemon address never changes the handler's result or exception."""
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", address)
    from lambda_observe import testing

    testing.reset()

    @traced
    def ok(event, context):
        with subsegment("db"):
            return 5

    @traced
    def bad(event, context):
        raise RuntimeError("x")

    assert ok({}, LambdaContext()) == 5
    with pytest.raises(RuntimeError):
        bad({}, LambdaContext())


def test_oversized_document_is_cut_with_a_marker(lambda_env, assert_valid):
    """A response over the 64 KB datagram limit is replaced by a marker; the document arrives."""
    big = {"rows": ["y" * 1000] * 200}

    @traced
    def handler(event, context):
        return big

    assert handler({}, LambdaContext()) is big
    doc = lambda_env.documents(1)[0]
    assert_valid([doc])
    assert "truncated" in doc["metadata"]["lambda_observe"]
    assert len(lambda_env.collector.datagrams[0]) < 65536


def test_unserializable_metadata_is_rendered(lambda_env, assert_valid):
    """Circular structures and arbitrary objects in metadata do not lose the document."""
    loop: dict[str, Any] = {}
    loop["self"] = loop

    @traced
    def handler(event, context):
        add_metadata("loop", loop)
        add_metadata("sock", socket.socket)
        return object()

    handler({}, LambdaContext())
    doc = lambda_env.documents(1)[0]
    assert_valid([doc])
    assert doc["metadata"]["test-fn"]["loop"]["self"] == "<circular reference>"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=st.one_of(
        st.none(),
        st.text(max_size=120),
        st.from_regex(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}(;Parent=[0-9a-z]{0,17})?(;Sampled=[012])?", fullmatch=True),
    )
)
def test_any_trace_header_leaves_the_outcome_alone(lambda_env, header):
    """Whatever the trace header, the handler returns and raises exactly as untraced."""
    if header is None or "\x00" in header:
        lambda_env.monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    else:
        lambda_env.monkeypatch.setenv("_X_AMZN_TRACE_ID", header)

    @traced
    def handler(event, context):
        if event["fail"]:
            raise ValueError(event["value"])
        with subsegment("s"):
            return event["value"]

    assert handler({"fail": False, "value": 3}, LambdaContext()) == 3
    with pytest.raises(ValueError, match=r"^4$"):
        handler({"fail": True, "value": 4}, LambdaContext())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50) | st.binary(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        | st.sets(st.integers(), max_size=3).map(frozenset)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values, key=st.text(max_size=30))
def test_any_metadata_keeps_documents_valid(lambda_env, xray_validator, key, value):
    """Any metadata value or annotation key: the result is unchanged and documents stay valid."""
    lambda_env.collector.clear()

    @traced
    def handler(event, context):
        add_metadata(key, value)
        annotate(key, str(value)[:50])
        return "same"

    assert handler({}, LambdaContext()) == "same"
    docs = lambda_env.documents(1)
    assert [d["name"] for d in docs] == ["## handler"], "the handler's document must arrive"
    for doc in docs:
        assert not list(xray_validator.iter_errors(doc))


def test_end_hooks_see_the_outcome_and_never_change_it(lambda_env):
    """End hooks run after every invocation with the handler's exception (or None); a failing hook is swallowed."""
    from lambda_observe._hooks import add_end_hook

    seen: list[tuple[str, object]] = []

    def record(inv, error):
        seen.append((inv.request_id, error))

    def broken(inv, error):
        raise RuntimeError("hook bug")

    add_end_hook(record)
    add_end_hook(broken)
    add_end_hook(record)  # registering twice keeps one

    @traced
    def ok(event, context):
        return "fine"

    boom = ValueError("user bug")

    @traced
    def fails(event, context):
        raise boom

    assert ok({}, LambdaContext(aws_request_id="r-1")) == "fine"
    with pytest.raises(ValueError) as caught:
        fails({}, LambdaContext(aws_request_id="r-2"))
    assert caught.value is boom
    assert seen == [("r-1", None), ("r-2", boom)]


def test_wrapper_around_a_traced_handler_traces_once(lambda_env, tmp_path, assert_valid, caplog):
    """The zero-code wrapper around a handler that already has @traced: one '## handler'
    subsegment, ColdStart true on the first call, false on the second; the lifecycle runs once
    (no nested invocation, so no overlap warning)."""
    (tmp_path / "already.py").write_text(
        "from lambda_observe import traced\n@traced\ndef handler(event, context):\n    return event['n']\n"
    )
    lambda_env.monkeypatch.setenv("LAMBDA_OBSERVE_HANDLER", f"{tmp_path / 'already.py'}:handler")
    lambda_env.monkeypatch.setenv("LAMBDA_OBSERVE_TRACE_INIT", "false")  # init tracing has its own tests
    from lambda_observe import wrapper

    wrapped = wrapper.load()
    assert wrapped({"n": 1}, LambdaContext()) == 1
    first = lambda_env.documents(1)
    lambda_env.collector.settle(quiet=0.1)
    lambda_env.new_trace()
    assert wrapped({"n": 2}, LambdaContext()) == 2
    docs = lambda_env.collector.settle(quiet=0.1)
    assert_valid(docs)
    tops = [d for d in docs if d["name"] == "## handler"]
    assert len(tops) == 2, f"one per call, got {[(d['trace_id'], d['parent_id']) for d in tops]}"
    assert len(docs) == 2 and first[0]["annotations"]["ColdStart"] is True
    assert [d["annotations"]["ColdStart"] for d in tops] == [True, False]
    assert not [r for r in caplog.records if r.levelname == "WARNING"], [r.getMessage() for r in caplog.records]
