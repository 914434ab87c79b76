"""Where metrics wait for their flush: one set per invocation, one for the process.

``@traced`` gives each invocation its own :class:`MetricSet` (a start hook) and flushes it when the
handler has returned or raised (an end hook), so a thread started with
:func:`lambda_observe.propagate` adds to the invocation it was started in. Outside an invocation
(module import, a script, a thread started without ``propagate``) metrics go to the process's set,
which :func:`flush_metrics` writes, and which the end of the next invocation writes too.

Adding is lock-free: ``dict.setdefault`` and ``list.append`` are atomic in CPython, and a flush swaps
the dicts out before encoding them. That also keeps the timeout warning, which may flush from a
signal handler, from ever waiting on a lock the interrupted code holds.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from .. import _invocation, _warn, config
from .._hooks import add_end_hook, add_start_hook, add_timeout_hook
from . import _validate
from ._emf import MAX_DIMENSIONS, Metric, encode
from ._errors import DimensionError, MetricNameError, MetricResolutionError, MetricUnitError, NamespaceError

__all__ = ["MetricSet", "add_dimension", "add_metric", "flush_metrics", "install", "reset"]

_SERVICE = "service"
_MIN, _MAX = 2.0**-360, 2.0**360


class MetricSet:
    """The metrics and dimensions added since the last flush."""

    __slots__ = ("dimensions", "metrics")

    def __init__(self) -> None:
        self.metrics: dict[str, Metric] = {}
        self.dimensions: dict[str, str] = {}

    def take(self) -> tuple[dict[str, Metric], dict[str, str]]:
        """Everything added so far; the set starts empty again."""
        metrics, self.metrics = self.metrics, {}
        dimensions, self.dimensions = self.dimensions, {}
        return metrics, dimensions


class _State:
    cfg: Any = None  # the config snapshot the namespace below was read from
    namespace: str | None = None
    problem: NamespaceError | None = None
    installed = False
    process = MetricSet()
    sets: dict[_invocation.Invocation, MetricSet] = {}
    services: dict[str, str | None] = {}
    names: set[str] = set()


def _namespace() -> str:
    cfg = config.get()
    if cfg is not _State.cfg:
        _State.cfg = cfg
        try:
            _State.namespace, _State.problem = _validate.namespace(cfg.metrics_namespace), None
        except NamespaceError as exc:
            _State.namespace, _State.problem = None, exc
    if _State.problem is not None:
        raise _State.problem
    return _State.namespace  # type: ignore[return-value]


def _target() -> MetricSet:
    inv = _invocation.current()
    if inv is not None:
        found = _State.sets.get(inv)
        if found is not None:
            return found
    return _State.process


def add_metric(name: str, value: float, unit: str = "Count", resolution: int = 60) -> None:
    """Add ``value`` to the metric ``name``, written as EMF at the end of the invocation.

    ``unit`` is a CloudWatch unit (``"Count"``, ``"Milliseconds"``, ``"Bytes/Second"``...; Powertools'
    names such as ``"BytesPerSecond"`` and its ``MetricUnit`` members work too). ``resolution`` is 60
    (standard) or 1 (high resolution). The same name added again adds a value; it keeps its unit and
    resolution. Bad input raises a :class:`~lambda_observe.metrics.MetricsError` naming what is valid;
    no namespace configured raises :class:`~lambda_observe.metrics.NamespaceError`.
    """
    if _State.cfg is not config.get() or _State.problem is not None:
        _namespace()  # raises NamespaceError
    if not _State.installed:
        install()
    if type(name) is not str or name not in _State.names:  # names seen before were checked then
        _validate.metric_name(name)
        if len(_State.names) > 1024:
            _State.names.clear()
        _State.names.add(name)
    known = _validate.UNITS.get(unit) if type(unit) is str else None
    unit = known or _validate.unit(unit)
    if resolution != 60 or type(resolution) is not int:
        resolution = _validate.resolution(resolution)
    kind = type(value)
    fast = (kind is int or kind is float) and _MIN <= abs(value) <= _MAX  # NaN fails the comparison
    number = value if fast else _validate.value(value)
    inv = _invocation.current()
    target = _State.sets.get(inv, _State.process) if inv is not None else _State.process
    metric = target.metrics.get(name)
    if metric is None:
        if name == _SERVICE or name in target.dimensions:
            raise MetricNameError(f"metric name {name!r} is already a dimension name; a line cannot hold both")
        metric = target.metrics.setdefault(name, Metric(unit, resolution))
    if metric.unit != unit:
        raise MetricUnitError(f"metric {name!r} was added with unit {metric.unit!r}, now {unit!r}: one unit per metric")
    if metric.resolution != resolution:
        raise MetricResolutionError(
            f"metric {name!r} was added with resolution {metric.resolution}, now {resolution}: "
            "one resolution per metric"
        )
    metric.values.append(number)


def add_dimension(name: str, value: str) -> None:
    """Add a dimension to every metric of the invocation (or, outside one, of the next flush).

    ``service`` is there by default (the invocation's service); adding it replaces the value. At most
    30 dimensions, ``service`` included: the 31st raises :class:`~lambda_observe.metrics.DimensionError`.
    """
    name, value = _validate.dimension(name, value)
    target = _target()
    dimensions = target.dimensions
    if name not in dimensions:
        if name in target.metrics:
            raise DimensionError(f"dimension name {name!r} is already a metric name; a line cannot hold both")
        count = len(dimensions) + (0 if _SERVICE in dimensions or name == _SERVICE else 1)
        if count >= MAX_DIMENSIONS:
            raise DimensionError(
                f"dimension {name!r}: at most {MAX_DIMENSIONS} dimensions per metric, 'service' included "
                f"(already: {', '.join([_SERVICE, *dimensions] if _SERVICE not in dimensions else dimensions)})"
            )
    dimensions[name] = value


def flush_metrics() -> None:
    """Write the metrics added so far as EMF lines on stdout, now; never raises.

    Inside an invocation this writes the invocation's metrics early (``@traced`` writes them at the end
    anyway). Outside one, for code that runs without a handler, it writes the process's metrics.
    """
    inv = _invocation.current()
    found = _State.sets.get(inv) if inv is not None else None
    if found is not None and inv is not None:
        _flush(found, inv.service)
    else:
        _flush(_State.process, None)


def _service(name: str | None) -> str | None:
    """The ``service`` dimension's value, or ``None`` when CloudWatch would reject it (warned once)."""
    name = name or config.get().service
    checked = _State.services.get(name, "")
    if checked == "":
        try:
            checked = _validate.dimension(_SERVICE, name)[1]
        except DimensionError as exc:
            _warn.once(
                f"metrics-service-{name}", "lambda_observe: metrics are sent without the service dimension: %s", exc
            )
            checked = None
        if len(_State.services) > 64:
            _State.services.clear()
        _State.services[name] = checked
    return checked


def _flush(target: MetricSet, service: str | None) -> None:
    try:
        if not target.metrics:
            return
        metrics, dimensions = target.take()
        if _SERVICE not in dimensions:
            value = _service(service)
            if value is not None:
                dimensions = {_SERVICE: value, **dimensions}
        _write(encode(_namespace(), dimensions, metrics, int(time.time() * 1000)))
    except Exception as exc:
        _warn.once("metrics-flush", "lambda_observe: could not write the metrics: %r", exc)


def _write(lines: list[str]) -> None:
    out = sys.stdout
    for line in lines:
        out.write(line + "\n")  # one write per line, flushed: Lambda may freeze the process right after
        out.flush()


def _cold_start(inv: _invocation.Invocation) -> None:
    dimensions: dict[str, str] = {}
    if inv.function_name:
        try:
            dimensions.update([_validate.dimension("function_name", inv.function_name)])
        except DimensionError:
            pass
    service = _service(inv.service)
    if service is not None:
        dimensions[_SERVICE] = service
    cold = Metric("Count", 60)
    cold.values.append(1)
    _write(encode(_namespace(), dimensions, {"ColdStart": cold}, int(time.time() * 1000)))


def _on_start(inv: _invocation.Invocation, event: Any) -> None:
    _State.sets[inv] = MetricSet()
    if inv.cold_start:
        try:
            _cold_start(inv)
        except Exception as exc:
            _warn.once("metrics-cold-start", "lambda_observe: could not write the ColdStart metric: %r", exc)


def _on_end(inv: _invocation.Invocation, error: BaseException | None) -> None:
    found = _State.sets.pop(inv, None)
    if found is not None:
        _flush(found, inv.service)
    if _State.process.metrics:
        _flush(_State.process, None)


def _before_timeout(inv: _invocation.Invocation) -> None:
    found = _State.sets.get(inv)
    if found is not None:
        _flush(found, inv.service)


def install() -> None:
    """Register the invocation hooks (once); ``@traced`` calls this when a namespace is configured."""
    add_start_hook(_on_start)
    add_end_hook(_on_end)
    add_timeout_hook(_before_timeout)
    _State.installed = True


def reset() -> None:
    """Forget every set, the namespace and the hooks' registration (for tests)."""
    from . import _emf

    _State.cfg = _State.namespace = _State.problem = None
    _State.installed = False
    _State.process = MetricSet()
    _State.sets.clear()
    _State.services.clear()
    _State.names.clear()
    _emf.forget()
