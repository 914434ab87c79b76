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


def patch_selective():
    """lambda_observe's patch("boto3", "requests"), then the handler module imports both."""
    from lambda_observe import patch, traced

    patch("boto3", "requests")
    import boto3  # noqa: F401
    import requests  # noqa: F401

    return traced(logs=False)(lambda event, context: 1)


def patch_all_sdk():
    """The X-Ray SDK's patch_all() (what the SDK and Powertools default to), then the same imports."""
    from aws_xray_sdk.core import patch_all

    patch_all()
    import boto3  # noqa: F401
    import requests  # noqa: F401

    from lambda_observe import traced

    return traced(logs=False)(lambda event, context: 1)


def no_patch():
    """The same imports and handler with no patching at all: the baseline for the two above."""
    import boto3  # noqa: F401
    import requests  # noqa: F401

    from lambda_observe import traced

    return traced(logs=False)(lambda event, context: 1)


PATCHING = {"patch_selective": patch_selective, "patch_all_sdk": patch_all_sdk, "no_patch": no_patch}


def main() -> None:
    stack, with_boto3, daemon = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
    sys.path.insert(0, os.getcwd())
    from benchmarks.stacks.common import Context, lambda_environment, runtime_imports

    lambda_environment(daemon)
    runtime_imports()
    start = time.perf_counter()
    if with_boto3:
        import boto3  # noqa: F401  (the handler module's own import, as most functions have)
    from benchmarks.stacks import warm

    handler = PATCHING[stack]() if stack in PATCHING else warm.STACKS[stack]()
    handler({"requestContext": {"requestId": "r-1"}}, Context())
    elapsed = time.perf_counter() - start
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sys.stderr.write(json.dumps({"stack": stack, "seconds": elapsed, "rss_kb": rss_kb}) + "\n")


if __name__ == "__main__":
    main()
