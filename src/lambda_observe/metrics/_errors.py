"""The errors of ``lambda_observe.metrics``: bad input, raised at the call that made it.

::

    MetricsError (ValueError)
     ├── MetricNameError        a metric name CloudWatch would reject, or one already taken
     ├── MetricUnitError        not one of the CloudWatch units (Powertools' names accepted)
     ├── MetricValueError       not a finite number CloudWatch can store
     ├── MetricResolutionError  not 1 (high resolution) or 60 (standard)
     ├── DimensionError         a bad dimension name or value, or more than 30 dimensions
     └── NamespaceError         no namespace configured, or one CloudWatch would reject

Nothing on the flush path raises: these come only from ``add_metric`` and ``add_dimension``.
"""

from __future__ import annotations

__all__ = [
    "DimensionError",
    "MetricNameError",
    "MetricResolutionError",
    "MetricUnitError",
    "MetricValueError",
    "MetricsError",
    "NamespaceError",
]


class MetricsError(ValueError):
    """A metric, dimension or namespace that cannot be sent; the message says what is valid."""


class MetricNameError(MetricsError):
    pass


class MetricUnitError(MetricsError):
    pass


class MetricValueError(MetricsError):
    pass


class MetricResolutionError(MetricsError):
    pass


class DimensionError(MetricsError):
    pass


class NamespaceError(MetricsError):
    pass
