"""The redaction engine's text scan is linear: inputs that made the old expressions backtrack
(62 s on 100 KB) finish. Each check runs the engine in a subprocess with a generous hang timeout
(it fails on a hang, it does not time anything)."""

from __future__ import annotations

import json
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

HANG = 60  # seconds: ~1 s of work on the new engine, minutes on the old one

RUNNER = """
import json, sys
from lambda_observe.redact import Redactor
engine = Redactor()
for text in json.load(sys.stdin):
    out = engine.text(text)
    assert isinstance(out, str)
print("done")
"""


def run_all(texts: list[str]) -> None:
    """Redact every text in a fresh interpreter; fail if it does not finish within HANG seconds."""
    done = subprocess.run(
        [sys.executable, "-c", RUNNER], input=json.dumps(texts), capture_output=True, text=True, timeout=HANG
    )
    assert done.returncode == 0 and done.stdout.strip() == "done", done.stderr[-2000:]


def pathological(n: int) -> list[str]:
    """The inputs the tester found, each about ``n`` characters long."""
    base64 = "QUJD" * (n // 4)
    return [
        "a" * n + "://u:p x@y",
        "a://" * (n // 4) + " @",
        "x://u:" + "p" * n + " @",
        'token="' + 'a\\"token=' * (n // 9),
        f"email=a@b.c&site=http://x&bio={'A' * n}",
        f"calling https://api.example.com/x?id=1 for ann@example.com with {base64} " * 2,
        "a:" * (n // 2) + "@",
        "x@" * (n // 2) + "://",
        "password=x" + " " * n + "y",
        "{'token': " + "[" * n,
        "token=" + '\\"' * (n // 2),
        "://" * (n // 3) + "@",
        "http://u:" + "/" * n + "@h",
    ]


def test_pathological_inputs_finish():
    """Every input that backtracked, at 100 KB and 400 KB, is redacted in one subprocess
    (the old engine needed over a minute for the first one alone at 100 KB)."""
    run_all(pathological(100_000) + pathological(400_000))


FRAGMENTS = st.sampled_from(
    ["://", "@", ":", "/", "?", "&", "=", "#", " ", "a", "u", "p", "token", "password", '"', "'", "\\", "[", "{",
     "(", "%3A", "http", ";", ",", "\n", "Authorization: ", "b'"]
)  # fmt: skip


# Runs of characters a URL scheme or user info is made of: the old expressions rescanned such a
# run from each of its positions.
FILLERS = st.lists(
    st.sampled_from(["a", "p", "token", "http", "x.y", "-", "+", "u1", "://", ":"]), min_size=1, max_size=4
)


@settings(max_examples=10, deadline=None)
@given(
    st.lists(st.lists(FRAGMENTS, min_size=1, max_size=6).map("".join), min_size=1, max_size=6),
    FILLERS.map("".join),
    st.lists(FRAGMENTS, max_size=8).map("".join),
)
def test_random_url_fragments_never_hang(pieces, filler, tail):
    """Random strings built from URL-ish fragments, each repeated to about 60 KB, and a 200 KB
    run of scheme / user-info characters followed by random fragments and a URL with user info,
    finish (the last shape took minutes on the old engine: checked by hand against it)."""
    texts = [p * (60_000 // len(p)) for p in pieces]
    texts.append("".join(texts)[:200_000])
    texts.append(filler * (200_000 // len(filler)) + tail + " x://u:p@h")
    run_all(texts)
