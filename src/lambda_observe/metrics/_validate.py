"""Checking what ``add_metric`` and ``add_dimension`` are given, against CloudWatch's rules.

Names and dimension values are printable ASCII with at least one non-blank character (CloudWatch's
``Dimension`` and metric name rules); metric and dimension names are 1-255 characters, dimension
values 1-1,024 (strings; an int is turned into one); dimension names and namespaces cannot start
with ``:``; a namespace holds letters, digits, ``. - _ / # :`` and space, and cannot start with
``AWS/``. Values are finite numbers within CloudWatch's range (magnitude 2**-360 to 2**360, or
zero); ints past 2**53 become floats.
"""

from __future__ import annotations

from typing import Any

from ._errors import (
    DimensionError,
    MetricNameError,
    MetricResolutionError,
    MetricUnitError,
    MetricValueError,
    NamespaceError,
)

__all__ = [
    "UNITS",
    "MetricResolution",
    "MetricUnit",
    "dimension",
    "metric_name",
    "namespace",
    "resolution",
    "unit",
    "value",
]


class MetricUnit:
    """The CloudWatch units under Powertools' names: ``MetricUnit.BytesPerSecond == "Bytes/Second"``."""

    Seconds = "Seconds"
    Microseconds = "Microseconds"
    Milliseconds = "Milliseconds"
    Bytes = "Bytes"
    Kilobytes = "Kilobytes"
    Megabytes = "Megabytes"
    Gigabytes = "Gigabytes"
    Terabytes = "Terabytes"
    Bits = "Bits"
    Kilobits = "Kilobits"
    Megabits = "Megabits"
    Gigabits = "Gigabits"
    Terabits = "Terabits"
    Percent = "Percent"
    Count = "Count"
    BytesPerSecond = "Bytes/Second"
    KilobytesPerSecond = "Kilobytes/Second"
    MegabytesPerSecond = "Megabytes/Second"
    GigabytesPerSecond = "Gigabytes/Second"
    TerabytesPerSecond = "Terabytes/Second"
    BitsPerSecond = "Bits/Second"
    KilobitsPerSecond = "Kilobits/Second"
    MegabitsPerSecond = "Megabits/Second"
    GigabitsPerSecond = "Gigabits/Second"
    TerabitsPerSecond = "Terabits/Second"
    CountPerSecond = "Count/Second"
    NoUnit = "None"


class MetricResolution:
    """Storage resolution in seconds, under Powertools' names."""

    Standard = 60
    High = 1


#: Every accepted spelling (CloudWatch's unit, or Powertools' member name) -> CloudWatch's unit.
UNITS: dict[str, str] = {
    **{k: v for k, v in vars(MetricUnit).items() if not k.startswith("_")},
    **{v: v for k, v in vars(MetricUnit).items() if not k.startswith("_")},
}
_UNIT_HELP = ", ".join(sorted({v for k, v in vars(MetricUnit).items() if not k.startswith("_")}))
_MAX = 2.0**360
_MIN = 2.0**-360
_EXACT = 2**53
#: What a namespace may hold (CloudWatch's rule): letters, digits, ``. - _ / # :`` and space.
_NAMESPACE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_/#: ")


def _printable(text: str) -> bool:
    return text.isascii() and text.isprintable() and not text.isspace()


def metric_name(name: Any) -> str:
    if type(name) is not str:
        raise MetricNameError(f"metric name {name!r}: expected a string, not {type(name).__name__}")
    if not 0 < len(name) <= 255 or not _printable(name):
        raise MetricNameError(f"metric name {name!r}: expected 1-255 printable ASCII characters, not only blanks")
    if name == "_aws":
        raise MetricNameError("metric name '_aws' is reserved by the embedded metric format")
    return name


def unit(given: Any) -> str:
    found = UNITS.get(given) if type(given) is str else None
    if found is None:
        inner = getattr(given, "value", None)  # Powertools' MetricUnit enum members
        found = UNITS.get(inner) if type(inner) is str else None
    if found is None:
        raise MetricUnitError(
            f"unit {given!r}: expected one of {_UNIT_HELP} (or Powertools' names, e.g. BytesPerSecond)"
        )
    return found


def resolution(given: Any) -> int:
    if type(given) is not int:
        given = getattr(given, "value", given)  # Powertools' MetricResolution enum members
    if type(given) is int and given in (1, 60):
        return given
    raise MetricResolutionError(f"resolution {given!r}: expected 60 (standard) or 1 (high resolution, 1 second)")


def value(given: Any) -> int | float:
    number: int | float
    if type(given) is int or type(given) is float:
        number = given
    elif _is_real(given):
        number = float(given)
        if number == 0 and given != 0:  # Decimal("1E-400"), Fraction(1, 10**400): too small, not zero
            number = _MIN / 2
    else:
        hint = ""
        if type(given) is str and given in UNITS:
            hint = " (the argument order is add_metric(name, value, unit): value before unit)"
        raise MetricValueError(f"metric value {given!r}: expected a finite number (int or float){hint}")
    magnitude = abs(number)
    if magnitude > _MAX or (magnitude < _MIN and number != 0) or number != number:
        raise MetricValueError(
            f"metric value {given!r}: expected a finite number of magnitude 2**-360 to 2**360, or 0 "
            "(CloudWatch rejects NaN, infinities and values outside that range)"
        )
    if type(number) is int and not -_EXACT <= number <= _EXACT:
        return float(number)  # CloudWatch stores doubles: a 90-digit literal would say more than it keeps
    return number


def _is_real(given: Any) -> bool:
    import numbers  # only unusual values (Decimal, numpy scalars) get here

    if isinstance(given, bool) or not isinstance(given, numbers.Number):
        return False
    if isinstance(given, numbers.Complex) and not isinstance(given, numbers.Real):
        return False
    try:
        float(given)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def dimension(name: Any, given: Any) -> tuple[str, str]:
    if type(name) is not str or not 0 < len(name) <= 255 or not _printable(name) or name[0] == ":":
        raise DimensionError(
            f"dimension name {name!r}: expected 1-255 printable ASCII characters, not only blanks, "
            "not starting with ':'"
        )
    if name == "_aws":
        raise DimensionError("dimension name '_aws' is reserved by the embedded metric format")
    if type(given) is not str:
        if type(given) is not int:
            raise DimensionError(
                f"dimension {name!r} value {given!r}: expected a string (an int is turned into one), "
                f"not {type(given).__name__}"
            )
        given = str(given)
    if not 0 < len(given) <= 1024 or not _printable(given):
        raise DimensionError(
            f"dimension {name!r} value {given!r}: expected 1-1024 printable ASCII characters, not only blanks"
        )
    return name, given


def namespace(given: str | None) -> str:
    if not given:
        raise NamespaceError(
            "no metrics namespace: set LAMBDA_OBSERVE_METRICS_NAMESPACE (or POWERTOOLS_METRICS_NAMESPACE) "
            "in the function's environment, e.g. LAMBDA_OBSERVE_METRICS_NAMESPACE=Orders"
        )
    if (
        type(given) is not str
        or len(given) > 255
        or given.isspace()
        or given[0] == ":"
        or given.startswith("AWS/")
        or not _NAMESPACE_CHARS.issuperset(given)
    ):
        raise NamespaceError(
            f"metrics namespace {given!r}: expected 1-255 characters among letters, digits, "
            "'.', '-', '_', '/', '#', ':' and space, not only blanks, not starting with ':' or 'AWS/' "
            "(reserved for AWS's own metrics)"
        )
    return given
