"""Where metrics wait for their flush: one set per invocation, one for the process.

``@traced`` gives each invocation its own :class:`MetricSet` (a start hook) and flushes it when the
handler has returned or raised (an end hook), so a thread started with
:func:`lambda_observe.propagate` adds to the invocation it was started in. A value such a thread adds
after its handler returned goes to the same set (kept for the last few invocations) and is written,
with that invocation's dimensions, at the next flush. Outside an invocation (module import, a
script, a thread started without ``propagate``) metrics go to the process's set, which
:func:`flush_metrics` writes, and which the end of the next invocation writes too. A dimension added
outside an invocation is a default dimension: it is on every line from then on.

One lock guards adding and swapping: it is held only to find the metric and append the value, or to
swap a set's values out, and a flush encodes and writes after letting it go. So a value is either in
what a flush took or in what the next one takes, never appended to a set already written. The
timeout warning, which may run in a signal handler between two bytecodes of a thread that holds the
lock, never waits for it: when it cannot take the lock it leaves the set to the holder, which writes
it as it lets go (:func:`_serve_pending`).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from .. import _invocation, config
from .._hooks import add_end_hook, add_start_hook, add_timeout_hook
from . import _validate
from ._emf import MAX_DIMENSIONS, Metric, encode
from ._errors import DimensionError, MetricNameError, MetricResolutionError, MetricUnitError, NamespaceError
from ._out import forget as _forget_said
from ._out import say_once as _say_once
from ._out import write as _write

__all__ = [
    "MetricSet",
    "add_dimension",
    "add_metric",
    "clear_default_dimensions",
    "flush_metrics",
    "install",
    "reset",
    "set_default_dimensions",
]

_SERVICE = "service"
_MIN, _MAX = 2.0**-360, 2.0**360
_EXACT = 2**53  # ints beyond this are written as floats (CloudWatch stores doubles)
_ENDED_KEPT = 16  # ended invocations whose sets still take late values from their threads
_LOCK = threading.Lock()

#: What a flush took from a set: the values, the dimensions, the service (``None``: the process's).
_Batch = tuple[dict[str, Metric], dict[str, str], "str | None"]


class MetricSet:
    """The metrics added since the last flush, and the dimensions of the invocation (or process)."""

    __slots__ = ("dimensions", "metrics", "service")

    def __init__(self, service: str | None = None) -> None:
        self.metrics: dict[str, Metric] = {}
        self.dimensions: dict[str, str] = {}
        self.service = service

    def take(self) -> _Batch | None:
        """The values added so far with the dimensions they get; call with ``_LOCK`` held."""
        if not self.metrics:
            return None
        metrics, self.metrics = self.metrics, {}
        return metrics, {**_State.defaults, **self.dimensions}, self.service


class _State:
    cfg: Any = None  # the config snapshot the namespace below was read from
    namespace: str | None = None
    problem: NamespaceError | None = None
    installed = False
    process = MetricSet()
    sets: dict[_invocation.Invocation, MetricSet] = {}
    ended: dict[_invocation.Invocation, MetricSet] = {}
    defaults: dict[str, str] = {}
    process_service: str | None = None  # the service of the last invocation started
    pending: MetricSet | None = None  # a timeout flush that could not take the lock
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


def _find(inv: _invocation.Invocation | None) -> MetricSet | None:
    """The set of ``inv`` (open, or ended recently); ``None`` outside an invocation or without one."""
    if inv is None:
        return None
    return _State.sets.get(inv) or _State.ended.get(inv)


def add_metric(name: str, value: float, unit: str = "Count", resolution: int = 60) -> None:
    """Add ``value`` to the metric ``name``, written as EMF at the end of the invocation.

    ``unit`` is a CloudWatch unit (``"Count"``, ``"Milliseconds"``, ``"Bytes/Second"``...; Powertools'
    names such as ``"BytesPerSecond"`` and its ``MetricUnit`` members work too). ``resolution`` is 60
    (standard) or 1 (high resolution). The same name added again adds a value; it keeps its unit and
    resolution. Bad input raises a :class:`~lambda_observe.metrics.MetricsError` naming what is valid;
    no namespace configured, or one CloudWatch rejects, raises :class:`~lambda_observe.metrics.NamespaceError`.
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
    kind = type(value)  # NaN fails the comparison below
    fast = _MIN <= abs(value) <= _MAX if kind is float else kind is int and -_EXACT <= value <= _EXACT
    number = value if fast else _validate.value(value)
    inv = _invocation.current()
    with _LOCK:
        target = (_State.sets.get(inv) or _State.ended.get(inv) or _State.process) if inv else _State.process
        metric = target.metrics.get(name)
        if metric is None:
            if name == _SERVICE or name in target.dimensions or name in _State.defaults:
                raise MetricNameError(f"metric name {name!r} is already a dimension name; a line cannot hold both")
            metric = target.metrics[name] = Metric(unit, resolution)
        elif metric.unit != unit:
            raise MetricUnitError(
                f"metric {name!r} was added with unit {metric.unit!r}, now {unit!r}: one unit per metric"
            )
        elif metric.resolution != resolution:
            raise MetricResolutionError(
                f"metric {name!r} was added with resolution {metric.resolution}, now {resolution}: "
                "one resolution per metric"
            )
        metric.values.append(number)
    if _State.pending is not None:
        _serve_pending()


def _room(name: str, *dimension_sets: dict[str, str]) -> None:
    """Raise when ``name`` would make a line's dimensions (``service`` included) more than 30."""
    names = {_SERVICE, name}
    for dims in dimension_sets:
        names.update(dims)
    if len(names) > MAX_DIMENSIONS:
        have = [_SERVICE, *dict.fromkeys(k for dims in dimension_sets for k in dims if k != _SERVICE)]
        raise DimensionError(
            f"dimension {name!r}: at most {MAX_DIMENSIONS} dimensions per metric, 'service' and the default "
            f"dimensions included (already: {', '.join(have)})"
        )


def add_dimension(name: str, value: str) -> None:
    """Add a dimension to every metric of the invocation; outside one, to every metric from now on.

    ``service`` is there by default (the invocation's service); adding it replaces the value. Called
    outside an invocation (at import time, from a thread started without ``propagate``) it is a
    default dimension, as :func:`set_default_dimensions` makes. At most 30 dimensions, ``service`` and
    the defaults included: the 31st raises :class:`~lambda_observe.metrics.DimensionError`.
    """
    name, value = _validate.dimension(name, value)
    target = _find(_invocation.current())
    if target is None:  # outside an invocation (or in one that has no metrics)
        set_default_dimensions(**{name: value})
        return
    with _LOCK:
        dimensions = target.dimensions
        if name not in dimensions:
            if name in target.metrics:
                raise DimensionError(f"dimension name {name!r} is already a metric name; a line cannot hold both")
            _room(name, _State.defaults, dimensions)
        dimensions[name] = value
    if _State.pending is not None:
        _serve_pending()


def set_default_dimensions(**dimensions: str) -> None:
    """Dimensions on every metric line from now on, in every invocation (``ColdStart`` keeps its own).

    An invocation's own :func:`add_dimension` of the same name wins for that invocation. Values are
    strings (an int is turned into one); the limits of :func:`add_dimension` apply.
    """
    checked = dict(_validate.dimension(k, v) for k, v in dimensions.items())
    with _LOCK:
        sets = [_State.process, *_State.sets.values(), *_State.ended.values()]
        for name in checked:
            for target in sets:
                if name in target.metrics:
                    raise DimensionError(f"dimension name {name!r} is already a metric name; a line cannot hold both")
                _room(name, _State.defaults, checked, target.dimensions)
        _State.defaults.update(checked)
    if _State.pending is not None:
        _serve_pending()


def clear_default_dimensions() -> None:
    """Forget the default dimensions (those of :func:`set_default_dimensions` and of ``add_dimension``
    called outside an invocation)."""
    with _LOCK:
        _State.defaults.clear()
    if _State.pending is not None:
        _serve_pending()


def flush_metrics() -> None:
    """Write the metrics added so far as EMF lines on stdout, now; never raises.

    Inside an invocation this writes the invocation's metrics early (``@traced`` writes them at the end
    anyway). Outside one, for code that runs without a handler, it writes the process's metrics, and
    those that threads added to invocations already over.
    """
    inv = _invocation.current()
    with _LOCK:
        found = _State.sets.get(inv) if inv is not None else None
        batches = [found.take()] if found is not None else _leftovers()
    _write_batches(batches)
    if _State.pending is not None:
        _serve_pending()


def _leftovers() -> list[_Batch | None]:
    """The process's values and the late values of ended invocations; call with ``_LOCK`` held."""
    return [*(s.take() for s in _State.ended.values() if s.metrics), _State.process.take()]


def _serve_pending() -> None:
    """Write the set a timeout flush left behind, if the lock is free (else its holder does)."""
    if not _LOCK.acquire(blocking=False):
        return
    try:
        target, _State.pending = _State.pending, None
        batch = target.take() if target is not None else None
    finally:
        _LOCK.release()
    _write_batches([batch])


def _service(name: str | None) -> str | None:
    """The ``service`` dimension's value, or ``None`` when CloudWatch would reject it (warned once)."""
    name = name or _State.process_service or _logging_service() or config.get().service
    checked = _State.services.get(name, "")
    if checked == "":
        try:
            checked = _validate.dimension(_SERVICE, name)[1]
        except DimensionError as exc:
            _say_once(f"service-{name}", f"metrics are sent without the service dimension: {exc}")
            checked = None
        if len(_State.services) > 64:
            _State.services.clear()
        _State.services[name] = checked
    return checked


def _logging_service() -> str | None:
    """The service ``setup_logging`` was given, if logging was set up (never imports it)."""
    logs = sys.modules.get("lambda_observe.logs")
    setup = getattr(logs, "_Setup", None)
    service = getattr(setup, "service", None)
    return service if type(service) is str else None


def _write_batches(batches: list[_Batch | None]) -> None:
    try:
        if not any(batches):
            return
        namespace = _namespace()
        now = int(time.time() * 1000)
        for batch in batches:
            if batch is None:
                continue
            metrics, dimensions, service = batch
            if _SERVICE not in dimensions:
                value = _service(service)
                if value is not None:
                    dimensions = {_SERVICE: value, **dimensions}
            _write(encode(namespace, dimensions, metrics, now))
    except Exception as exc:
        _say_once("flush", f"could not write the metrics: {exc!r}")


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
    _State.process_service = inv.service
    _State.sets[inv] = MetricSet(inv.service)
    if inv.cold_start:
        try:
            _cold_start(inv)
        except Exception as exc:
            _say_once("cold-start", f"could not write the ColdStart metric: {exc!r}")


def _on_end(inv: _invocation.Invocation, error: BaseException | None) -> None:
    with _LOCK:
        found = _State.sets.pop(inv, None)
        batches = [found.take()] if found is not None else []
        batches += _leftovers()
        if found is not None:  # its threads may still add: late values go to its set, written next time
            ended = _State.ended
            ended[inv] = found
            while len(ended) > _ENDED_KEPT:
                del ended[next(iter(ended))]  # empty: _leftovers() took its values just now
    _write_batches(batches)
    if _State.pending is not None:
        _serve_pending()


def _before_timeout(inv: _invocation.Invocation) -> None:
    found = _State.sets.get(inv)
    if found is not None:
        _State.pending = found
        _serve_pending()  # never waits: if the lock is held, its holder writes the set when it lets go


def install() -> None:
    """Register the invocation hooks (once); ``@traced`` calls this when a namespace is configured."""
    add_start_hook(_on_start)
    add_end_hook(_on_end)
    add_timeout_hook(_before_timeout)
    _State.installed = True


def reset() -> None:
    """Forget every set, the namespace, the defaults and the hooks' registration (for tests)."""
    from . import _emf

    global _LOCK
    _LOCK = threading.Lock()
    _State.cfg = _State.namespace = _State.problem = None
    _State.installed = False
    _State.process = MetricSet()
    _State.sets.clear()
    _State.ended.clear()
    _State.defaults.clear()
    _State.process_service = None
    _State.pending = None
    _State.services.clear()
    _State.names.clear()
    _forget_said()
    _emf.forget()
