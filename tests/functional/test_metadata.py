"""Hostile metadata: whatever a handler attaches, it never raises into the handler, and every
datagram is valid JSON within the UDP limit that validates against the X-Ray schema."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_observe import add_metadata, subsegment, traced
from lambda_observe.testing import LambdaContext

IPV4_MAX_PAYLOAD = 65_507


class Hostile:
    """An object whose __repr__ and __str__ raise."""

    def __repr__(self) -> str:
        raise RuntimeError("repr refused")

    __str__ = __repr__


class HostileKey(Hostile):
    def __hash__(self) -> int:
        return 7


def cyclic_list() -> list[Any]:
    value: list[Any] = [1]
    value.append(value)
    return value


def cyclic_dict() -> dict[str, Any]:
    value: dict[str, Any] = {"a": 1}
    value["self"] = {"back": value}
    return value


def deep(levels: int) -> Any:
    value: Any = "bottom"
    for i in range(levels):
        value = {"l": value} if i % 2 else [value]
    return value


hostile_leaves = st.one_of(
    st.sampled_from([float("nan"), float("inf"), float("-inf"), 2**70, -(2**80)]),
    st.builds(Hostile),
    st.binary(max_size=40),
    st.sets(st.integers(), max_size=4),
    st.frozensets(st.text(max_size=5), max_size=3),
    st.builds(cyclic_list),
    st.builds(cyclic_dict),
    st.integers(1, 3000).map(deep),
    st.integers(1, 3).map(lambda n: "h" * (n * 40_000)),  # over the datagram on its own
    st.text(max_size=30),
)
hostile_keys = st.one_of(
    st.text(max_size=10), st.integers(), st.tuples(st.integers()), st.none(), st.builds(HostileKey), st.just(1.5)
)
hostile_values = st.recursive(
    hostile_leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_keys, inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.tuples(hostile_keys, hostile_values), min_size=1, max_size=3))
def test_hostile_metadata_never_raises_and_every_datagram_is_valid(lambda_env, xray_validator, values):
    """Cycles, sets, bytes, NaN/inf, deep nesting, huge sizes, non-str keys, objects whose repr
    raises: the handler's result is unchanged, both subsegments arrive, and each datagram is
    valid JSON within 65,507 bytes that validates against the X-Ray schema."""
    lambda_env.collector.clear()
    lambda_env.new_trace()

    @traced
    def handler(event, context):
        with subsegment("inner"):
            for key, value in values:
                add_metadata(key, value)
        for key, value in values:
            add_metadata(key, value, namespace="outer")
        return "unchanged"

    assert handler({}, LambdaContext()) == "unchanged"
    spans = lambda_env.documents(2)
    assert sorted(s["name"] for s in spans) == ["## handler", "inner"], "both documents must arrive"
    assert lambda_env.collector.datagrams
    for raw in lambda_env.collector.datagrams:
        assert len(raw) <= IPV4_MAX_PAYLOAD
        doc = json.loads(raw.partition(b"\n")[2])
        errors = [e.message for e in xray_validator.iter_errors(doc)]
        assert not errors, errors
