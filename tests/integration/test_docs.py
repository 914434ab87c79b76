"""The docs site builds strictly, and every code block marked to run does run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNNABLE = re.compile(r"<!-- run -->\s*```python\n(.*?)```", re.DOTALL)


def blocks() -> list[tuple[str, str]]:
    found = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        for n, match in enumerate(RUNNABLE.finditer(page.read_text())):
            found.append((f"{page.name}#{n}", match.group(1)))
    return found


def test_there_are_runnable_blocks():
    """The docs mark their examples to run (so the check below is not vacuous)."""
    assert len(blocks()) >= 6


@pytest.mark.parametrize(("where", "code"), blocks(), ids=[w for w, _ in blocks()])
def test_code_block_runs(tmp_path, where, code):
    """Each marked block runs, as written, in a fresh interpreter outside Lambda."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMBDA_OBSERVE_", "AWS_LAMBDA", "_X_AMZN"))}
    env.pop("LAMBDA_TASK_ROOT", None)
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, f"{where}:\n{proc.stderr}"


def test_mkdocs_build_strict(tmp_path):
    """mkdocs build --strict passes (broken links and nav entries fail it)."""
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "site" / "idempotency" / "index.html").is_file()
