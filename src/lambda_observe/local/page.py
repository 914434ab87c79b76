"""The trace page: one self-contained HTML file (inline CSS and JS, nothing fetched) with a trace
list, a waterfall per trace and a service map.

No value from a document is ever inserted as markup. The data travels as JSON inside
``<script type="application/json">`` with ``<``, ``>``, ``&``, U+2028, U+2029 and lone surrogates
escaped, so no string can close the element; the page's script builds the DOM with ``textContent``
only. A Content-Security-Policy allows only the page's own script (by hash) and no connections.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from .model import build_model

__all__ = ["embed_json", "render_page", "write_page"]

_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_UNSAFE = re.compile("[<>&\u2028\u2029\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return _ESCAPES.get(char) or f"\\u{ord(char):04x}"


def embed_json(data: Any) -> str:
    """``data`` as JSON that is safe inside a ``<script>`` element: none of ``< > &``, no line
    separators, no lone surrogates; ``JSON.parse`` gives back the same value."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return _UNSAFE.sub(_escape, text)


def _asset(name: str) -> str:
    return resources.files("lambda_observe.local").joinpath("page_assets").joinpath(name).read_text(encoding="utf-8")


def render_page(documents: list[dict[str, Any]], title: str = "Traces", function: str | None = None) -> str:
    """The page for ``documents`` (segment documents of one or more traces, nested or flat)."""
    title = title.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate becomes "?"
    model = build_model(documents, function=function)
    model["title"] = title
    model["generated"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    script = _asset("page.js")
    style = _asset("page.css")
    if "</" in script or "</" in style:
        raise RuntimeError("page assets must not contain '</'")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    csp = (
        "default-src 'none'; connect-src 'none'; img-src 'none'; "
        f"style-src 'unsafe-inline'; script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )
    safe_title = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{safe_title}</title>\n<style>{style}</style></head>\n<body>\n"
        f'<script type="application/json" id="trace-data">{embed_json(model)}</script>\n'
        f"<script>{script}</script>\n</body></html>\n"
    )


def write_page(
    path: str | Path, documents: list[dict[str, Any]], title: str = "Traces", function: str | None = None
) -> Path:
    """Write the page to ``path``; return it. A path that cannot be written raises ValueError saying why."""
    out = Path(path)
    if out.is_dir():
        raise ValueError(f"--html {out}: is a directory; expected the name of the HTML file to write")
    page = render_page(documents, title=title, function=function)
    try:
        if not out.parent.exists():
            out.parent.mkdir(parents=True)
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise ValueError(
            f"--html {out}: could not write the page ({exc.strerror or exc}); "
            "expected a file path in a writable directory"
        ) from None
    return out
