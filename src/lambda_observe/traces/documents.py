"""Trace documents on disk: saving BatchGetTraces results, and reading saved or captured documents back.

A saved file is one X-Ray ``Trace`` object as the API returns it (``Id``, ``Duration``, ``Segments``
with each ``Document`` a JSON string), so a file written today loads the same way in a year.
:func:`load` also reads a list of segment documents (as ``lambda-observe invoke`` captures them), a
single document, or a whole BatchGetTraces response.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["documents_of", "load", "save"]

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def documents_of(trace: dict[str, Any], source: str = "X-Ray's answer") -> list[dict[str, Any]]:
    """The parsed segment documents of one API ``Trace`` object; ``source`` names it in errors."""
    docs: list[dict[str, Any]] = []
    segments = trace.get("Segments")
    for n, segment in enumerate(segments if isinstance(segments, list) else []):
        doc = segment.get("Document") if isinstance(segment, dict) else None
        if isinstance(doc, str):
            try:
                doc = json.loads(doc)
            except (ValueError, RecursionError) as exc:
                reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                raise ValueError(
                    f"{source}: trace {trace.get('Id', '?')}, segment {n + 1}: the Document string is not a "
                    f"JSON segment document ({reason}); expected the JSON text X-Ray returns"
                ) from None
        if isinstance(doc, dict):
            docs.append(doc)
    return docs


def save(traces: list[dict[str, Any]], directory: str | Path) -> list[Path]:
    """Write each ``Trace`` object to ``DIR/<trace id>.json``; return the paths."""
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--save {out}: is a file; expected a directory (it is created when missing)")
    paths = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for trace in traces:
            name = _SAFE.sub("_", str(trace.get("Id") or "trace")) + ".json"
            path = out / name
            path.write_text(json.dumps(trace, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8")
            paths.append(path)
    except OSError as exc:
        raise ValueError(
            f"--save {out}: could not write there ({exc.strerror or exc}); expected a writable directory"
        ) from None
    return paths


def _from_json(data: Any, source: str) -> list[dict[str, Any]]:
    if isinstance(data, dict) and isinstance(data.get("Traces"), list):
        return [d for t in data["Traces"] if isinstance(t, dict) for d in documents_of(t, source)]
    if isinstance(data, dict) and isinstance(data.get("Segments"), list):
        return documents_of(data, source)
    if isinstance(data, dict) and "trace_id" in data:
        return [data]
    if isinstance(data, list) and all(isinstance(d, dict) for d in data):
        out: list[dict[str, Any]] = []
        for item in data:
            out.extend(_from_json(item, source) if "Segments" in item else [item])
        return out
    raise ValueError(
        f"{source}: not a trace: expected an X-Ray Trace object (Id, Segments), a BatchGetTraces response, "
        "a segment document, or a list of them"
    )


def load(paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    """Every segment document in ``paths`` (files, or directories of ``*.json`` files)."""
    docs: list[dict[str, Any]] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.glob("*.json") if p.is_file())
            if not files:
                raise ValueError(f"{path}: no .json files in this directory")
        elif path.is_file():
            files = [path]
        else:
            raise ValueError(f"{path}: no such file or directory")
        for file in files:
            try:
                data = json.loads(file.read_text(encoding="utf-8"))
            except UnicodeDecodeError as exc:
                raise ValueError(
                    f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start}); expected a JSON trace file"
                ) from None
            except json.JSONDecodeError as exc:
                raise ValueError(f"{file}: not JSON ({exc}); expected a JSON trace file") from None
            except RecursionError:
                raise ValueError(f"{file}: nested too deeply to read; expected a JSON trace file") from None
            except OSError as exc:
                raise ValueError(
                    f"{file}: could not read it ({exc.strerror or exc}); expected a JSON trace file"
                ) from None
            docs.extend(_from_json(data, str(file)))
    return docs
