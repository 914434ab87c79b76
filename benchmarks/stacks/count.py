"""Run one warm stack N times and exit, for instruction counting: python -m benchmarks.stacks.count STACK DAEMON N"""

from __future__ import annotations

import os
import sys

from benchmarks.stacks.common import Context, lambda_environment, new_header


def main() -> None:
    stack, daemon, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    lambda_environment(daemon)
    from benchmarks.stacks import warm

    handler = warm.STACKS[stack]()
    event = {"requestContext": {"requestId": "r-1"}, "body": "{}"}
    headers = [new_header() for _ in range(n)]
    contexts = [Context() for _ in range(n)]
    for header, context in zip(headers, contexts, strict=True):
        os.environ["_X_AMZN_TRACE_ID"] = header
        handler(event, context)


if __name__ == "__main__":
    main()
