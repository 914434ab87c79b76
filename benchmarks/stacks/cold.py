"""Handler modules for the cold-start benchmark; each is imported in a fresh interpreter.

python -m benchmarks.stacks.cold STACK WITH_BOTO3(0|1) DAEMON  -> prints seconds from before the
import of the handler module to the end of its first invocation, and peak RSS.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time


def main() -> None:
    stack, with_boto3, daemon = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
    sys.path.insert(0, os.getcwd())
    from benchmarks.stacks.common import Context, lambda_environment

    lambda_environment(daemon)
    start = time.perf_counter()
    if with_boto3:
        import boto3  # noqa: F401  (the handler module's own import, as most functions have)
    from benchmarks.stacks import warm

    handler = warm.STACKS[stack]()
    handler({"requestContext": {"requestId": "r-1"}}, Context())
    elapsed = time.perf_counter() - start
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sys.stderr.write(json.dumps({"stack": stack, "seconds": elapsed, "rss_kb": rss_kb}) + "\n")


if __name__ == "__main__":
    main()
