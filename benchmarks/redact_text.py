"""Redaction of hostile text: ``Redactor.text`` on 100 KB inputs that made the old expressions
backtrack (62 s for the first one). Prints one line per input: the best of five runs, in ms.

    .venv/bin/python benchmarks/redact_text.py [size]
"""

from __future__ import annotations

import sys
import time

from lambda_observe.redact import Redactor


def inputs(n: int) -> dict[str, str]:
    return {
        "a*n + '://u:p x@y'": "a" * n + "://u:p x@y",
        "'a://'*n + ' @'": "a://" * (n // 4) + " @",
        "'x://u:' + p*n + ' @'": "x://u:" + "p" * n + " @",
        "token=\" + 'a\\\"token='*n": 'token="' + 'a\\"token=' * (n // 9),
        "form body with a URL and an e-mail": f"email=a@b.c&site=http://x&bio={'A' * n}",
        "realistic message (URL, e-mail, base64)": (
            f"calling https://api.example.com/x?id=1&token=t for ann@example.com with {'QUJD' * (n // 8)} "
        )
        * 2,
        "plain text with no separator": "lorem ipsum " * (n // 12),
    }


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    engine = Redactor()
    for name, text in inputs(size).items():
        best = min(_once(engine, text) for _ in range(5))
        print(f"{name:45s} {len(text):>8d} chars  {best * 1000:8.2f} ms")


def _once(engine: Redactor, text: str) -> float:
    start = time.perf_counter()
    engine.text(text)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
