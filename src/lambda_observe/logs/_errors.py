"""What a configured handler reports when it cannot write a record.

The standard ``Handler.handleError`` prints the record's template and its **arguments**, unredacted,
to stderr (``Message: 'login %s'`` / ``Arguments: ('password=hunter2',)``): a log stream that fails
(a closed pipe, a full disk, a sink that raises) would put the very secrets the formatter hides into
the function's logs. :func:`handle_error` replaces it on the handlers ``setup_logging`` configures:
it names the error, redacted, and writes the line the record would have made (through the
formatter, so redacted too) to stderr, so the record is not lost. It never shows the raw arguments
and never raises; ``logging.raiseExceptions = False`` silences it, as it does the standard one.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from .. import redact as _redact
from ._fast import FORMATTER_ATTR

__all__ = ["handle_error"]


def handle_error(handler: logging.Handler, record: logging.LogRecord) -> None:
    """``handler.handleError(record)``, bound to each handler ``setup_logging`` configures. The line
    is shown only while the handler still has the formatter set-up gave it."""
    if not logging.raiseExceptions:
        return
    try:
        error = sys.exc_info()[1]
        redactor = _redact.get()
        text = f"--- Logging error: {redactor.text(_describe(error))} ---\n"
        formatter = handler.formatter
        if formatter is not None and _configured(handler, formatter):
            line = formatter.format(record).rstrip("\n")  # lambda_observe's formatter: redacted, never raises
            text += f"The line that could not be written follows.\n{line}\n"
        else:  # another formatter may show anything: only where the call was made
            text += f"Logged by {record.name!r} at {record.levelname} from {record.pathname}:{record.lineno}\n"
        stream: Any = sys.stderr or sys.__stderr__
        stream.write(text)
        stream.flush()
    except Exception:  # stderr is broken too, or the record is: nothing more can be said safely
        pass


def _configured(handler: logging.Handler, formatter: logging.Formatter) -> bool:
    return getattr(handler, FORMATTER_ATTR, None) is formatter


def _describe(error: BaseException | None) -> str:
    try:
        kind = type(error).__name__
    except Exception:
        kind = "error"
    try:
        return f"{kind}: {error}"
    except Exception:
        return kind
