"""Encoding metrics as CloudWatch Embedded Metric Format lines.

One line is a JSON object: ``_aws`` (timestamp, namespace, the dimension names, each metric's
name, unit and storage resolution), then the dimension values and the metric values as members
of the root. EMF's limits hold on every line: at most 100 metrics, at most 100 values per
metric, at most 30 dimensions, and no more bytes than a CloudWatch Logs event takes. More metrics
or values than that make more lines; nothing is dropped.

The parts that repeat from one flush to the next (the namespace with the dimension names, each
metric's definition, the dimension members) are encoded once and kept.
"""

from __future__ import annotations

from .. import _json

__all__ = ["MAX_DIMENSIONS", "MAX_LINE_BYTES", "MAX_METRICS", "MAX_VALUES", "Metric", "encode"]

#: Metrics per line (EMF: a MetricDirective holds at most 100 metrics).
MAX_METRICS = 100
#: Values per metric per line (EMF: a value array holds at most 100 values).
MAX_VALUES = 100
#: Dimensions in a dimension set (EMF and CloudWatch: 30, since 2022).
MAX_DIMENSIONS = 30
#: A CloudWatch Logs event: 256 KiB including 26 bytes of overhead.
MAX_LINE_BYTES = 256 * 1024 - 26

_CACHE_LIMIT = 512  # per cache: plenty for a function's metrics and routes; cleared when exceeded


class Metric:
    """One metric of a set: its unit, its storage resolution, its values in the order added."""

    __slots__ = ("resolution", "unit", "values")

    def __init__(self, unit: str, resolution: int) -> None:
        self.unit = unit
        self.resolution = resolution
        self.values: list[int | float] = []


_FRAMES: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str, str]] = {}
_DEFINITIONS: dict[tuple[str, str, int], tuple[str, str]] = {}


def _remember(cache: dict, key: object, value: object) -> None:  # type: ignore[type-arg]
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value


def _frame(namespace: str, items: tuple[tuple[str, str], ...]) -> tuple[str, str]:
    """What surrounds the metric definitions (namespace, dimension names) and starts the members
    (the dimension values), for one namespace and one set of dimensions."""
    frame = _FRAMES.get((namespace, items))
    if frame is None:
        names = [k for k, _ in items]
        head = (
            f',"CloudWatchMetrics":[{{"Namespace":{_json.dumps(namespace)},'
            f'"Dimensions":[{_json.dumps(names)}],"Metrics":['
        )
        members = "".join(f"{_json.dumps(k)}:{_json.dumps(v)}," for k, v in items)
        frame = (head, "]}]}," + members)
        _remember(_FRAMES, (namespace, items), frame)
    return frame


def _definition(name: str, unit: str, resolution: int) -> tuple[str, str]:
    key = (name, unit, resolution)
    found = _DEFINITIONS.get(key)
    if found is None:
        quoted = _json.dumps(name)
        high = ',"StorageResolution":1' if resolution == 1 else ""
        found = (f'{{"Name":{quoted},"Unit":{_json.dumps(unit)}{high}}}', f"{quoted}:")
        _remember(_DEFINITIONS, key, found)
    return found


def _values(values: list[int | float]) -> str:
    if len(values) == 1:
        return repr(values[0])
    return "[" + ",".join(map(repr, values)) + "]"


def encode(
    namespace: str,
    dimensions: dict[str, str],
    metrics: dict[str, Metric],
    timestamp_ms: int,
    max_metrics: int = MAX_METRICS,
    max_values: int = MAX_VALUES,
) -> list[str]:
    """The EMF lines for ``metrics`` under ``dimensions``; no metrics, no lines.

    Values are validated numbers (int or float, finite) and names printable ASCII before they get here.
    """
    if not metrics:
        return []
    head, middle = _frame(namespace, tuple(dimensions.items()))
    start = '{"_aws":{"Timestamp":' + str(timestamp_ms) + head
    fixed = len(start) + len(middle) + 1
    lines: list[str] = []
    if len(metrics) == 1:  # the common case: one metric
        ((name, metric),) = metrics.items()
        if len(metric.values) <= max_values:
            definition, key = _definition(name, metric.unit, metric.resolution)
            return [start + definition + middle + key + _values(metric.values) + "}"]
    rounds = 0
    for metric in metrics.values():
        rounds = max(rounds, -(-len(metric.values) // max_values))
    for index in range(rounds):  # the k-th hundred values of every metric that has them
        low, high = index * max_values, (index + 1) * max_values
        definitions: list[str] = []
        members: list[str] = []
        size = fixed
        for name, metric in metrics.items():
            chunk = metric.values[low:high]
            if not chunk:
                continue
            definition, key = _definition(name, metric.unit, metric.resolution)
            member = key + _values(chunk)
            grow = len(definition) + len(member) + 2
            if definitions and (len(definitions) >= max_metrics or size + grow > MAX_LINE_BYTES):
                lines.append(start + ",".join(definitions) + middle + ",".join(members) + "}")
                definitions, members, size = [], [], fixed
            definitions.append(definition)
            members.append(member)
            size += grow
        if definitions:
            lines.append(start + ",".join(definitions) + middle + ",".join(members) + "}")
    return lines


def forget() -> None:
    """Empty the encoding caches (for tests)."""
    _FRAMES.clear()
    _DEFINITIONS.clear()
