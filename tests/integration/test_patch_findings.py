"""A tester's findings on patch(), each in a fresh interpreter (tests/integration/findings_probe.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _flat(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    todo = list(docs)
    while todo:
        doc = todo.pop()
        out.append(doc)
        todo.extend(doc.get("subsegments") or ())
    return out


def _run() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.integration.findings_probe"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith(("LAMBDA_OBSERVE_", "AWS_"))},
    )
    assert proc.returncode == 0, proc.stderr
    docs = json.loads(proc.stdout.splitlines()[-1])
    return docs, _flat(docs)


def test_patch_findings(assert_valid):
    """- ``ignore="*.internal"`` (a string) is one pattern: the other requests calls are traced;
    - a BaseException out of a traced requests call ends its span: the calls and blocks after it
      still nest under the handler;
    - a botocore parameter of the wrong type (``TableName=5``) is left out of the ``aws`` fields,
      so every document, the handler's with its nested children included, validates."""
    docs, flat = _run()
    assert_valid(docs)
    assert_valid(flat)
    (handler,) = [d for d in flat if d["name"] == "## handler"]
    children = {d["id"]: d for d in flat if d.get("parent_id") == handler["id"]}
    urls = sorted(d["http"]["request"]["url"].rsplit("/", 1)[1] for d in children.values() if "http" in d)
    assert urls == ["deadline", "first", "second"]
    assert any(d["name"] == "after" for d in children.values())
    (dynamo,) = [d for d in flat if d.get("namespace") == "aws"]
    assert dynamo["parent_id"] == handler["id"] and "table_name" not in dynamo["aws"]
