"""Metrics in CloudWatch Embedded Metric Format: ``add_metric``, ``add_dimension``, ``flush_metrics``.

A metric is a JSON line on stdout that CloudWatch Logs turns into a CloudWatch metric, with no API
call. ``@traced`` writes each invocation's metrics when the handler returns or raises, and a
``ColdStart`` metric (dimensions ``function_name`` and ``service``) in its own line on a cold start.
The namespace comes from ``LAMBDA_OBSERVE_METRICS_NAMESPACE``, else ``POWERTOOLS_METRICS_NAMESPACE``.

``set_default_dimensions(**dims)`` puts dimensions on every line of every invocation (as
``add_dimension`` called outside a handler does); ``clear_default_dimensions()`` forgets them.

Units and resolutions keep Powertools' names (:class:`MetricUnit`, :class:`MetricResolution`), so
moving from Powertools' ``metrics.add_metric(name=..., unit=..., value=...)`` is a rename. The errors
are drawn in :mod:`lambda_observe.metrics._errors`.
"""

from __future__ import annotations

from ._errors import (
    DimensionError,
    MetricNameError,
    MetricResolutionError,
    MetricsError,
    MetricUnitError,
    MetricValueError,
    NamespaceError,
)
from ._store import add_dimension, add_metric, clear_default_dimensions, flush_metrics, set_default_dimensions
from ._validate import MetricResolution, MetricUnit

__all__ = [
    "DimensionError",
    "MetricNameError",
    "MetricResolution",
    "MetricResolutionError",
    "MetricUnit",
    "MetricUnitError",
    "MetricValueError",
    "MetricsError",
    "NamespaceError",
    "add_dimension",
    "add_metric",
    "clear_default_dimensions",
    "flush_metrics",
    "set_default_dimensions",
]
