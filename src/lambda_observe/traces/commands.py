"""The ``traces find``, ``traces show`` and ``view`` commands: arguments in, text and files out."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Any, TextIO

from ._time import check_range, parse_time

__all__ = ["find", "show", "view"]


def find(
    filter_expression: str | None,
    since: str,
    until: str | None = None,
    limit: int = 100,
    region: str | None = None,
    endpoint_url: str | None = None,
    out: TextIO | None = None,
    client: Any = None,
    **retry: Any,
) -> list[Any]:
    """Print the traces that match, newest first; return their summaries."""
    from .client import Progress, find_traces, make_client
    from .table import format_table

    stream = out or sys.stdout
    if limit < 1:
        raise ValueError(f"--limit {limit}: expected 1 or more")
    now = datetime.now(timezone.utc)
    start = parse_time(since, now, "--since")
    asked = parse_time(until, now, "--until") if until else now
    end = check_range(start, asked, now)
    if end < asked:
        print(f"lambda-observe: --until {until} is in the future; searching up to now", file=sys.stderr)
    client = client or make_client(region, endpoint_url)
    progress = Progress()
    found = list(find_traces(client, start, end, filter_expression or None, limit=limit, progress=progress, **retry))
    found.sort(key=lambda s: s.sort_key, reverse=True)
    shown = found[:limit]
    if not shown:
        print(
            f"no traces between {start:%Y-%m-%d %H:%M}Z and {end:%Y-%m-%d %H:%M}Z"
            + (f" match {filter_expression}" if filter_expression else ""),
            file=stream,
        )
        return []
    print(format_table(shown, filter_expression), file=stream)
    if len(found) > limit or progress.stopped_early:
        print(f"(the newest {limit}; more may match: --limit N for more)", file=stream)
    return shown


def show(
    trace_ids: list[str],
    save: str | None = None,
    html: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    out: TextIO | None = None,
    client: Any = None,
    **retry: Any,
) -> list[dict[str, Any]]:
    """Fetch whole traces, draw each as the terminal waterfall, optionally save them and write the page."""
    from ..local.waterfall import printable, render
    from .client import XRayQueryError, batch_get_traces, make_client
    from .documents import documents_of
    from .documents import save as save_traces

    stream = out or sys.stdout
    client = client or make_client(region, endpoint_url)
    traces, missing = batch_get_traces(client, list(dict.fromkeys(trace_ids)), **retry)
    if not traces:
        raise XRayQueryError(
            "api",
            f"X-Ray has no trace {', '.join(missing)} (traces are kept 30 days; are the ids and region "
            "right?); nothing was saved or written",
        )
    # the files first: a trace the terminal drawing trips on is still kept
    if save:
        for path in save_traces(traces, save):
            print(f"saved {printable(str(path))}", file=stream)
    if html:
        from ..local.page import write_page

        docs = [d for t in traces for d in documents_of(t)]
        print(f"wrote {write_page(html, docs, title='X-Ray traces')}", file=stream)
    for trace in traces:
        print(render(documents_of(trace)), file=stream)
        print(file=stream)
    if missing:
        raise XRayQueryError(
            "api", f"X-Ray has no trace {', '.join(missing)} (traces are kept 30 days; is the id and region right?)"
        )
    return traces


def view(paths: list[str], html: str, out: TextIO | None = None) -> None:
    """Write the page for saved trace files or directories."""
    from ..local.page import write_page
    from .documents import load

    stream = out or sys.stdout
    docs = load(paths)
    if not docs:
        raise ValueError(f"{', '.join(paths)}: no segment documents found")
    print(f"wrote {write_page(html, docs, title='Saved traces')}", file=stream)
