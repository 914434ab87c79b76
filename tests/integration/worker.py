"""A process that calls an idempotent handler: used by the race and crash tests.

python -m tests.integration.worker STORE_URL LOG_FILE KEYS SLEEP TIMEOUT [SEED]
"""

from __future__ import annotations

import json
import os
import random
import sys
import time

from lambda_observe import idempotent
from lambda_observe.idempotency import AlreadyInProgressError
from lambda_observe.testing import LambdaContext


def main() -> None:
    url, log_path, keys, sleep, timeout = (
        sys.argv[1],
        sys.argv[2],
        sys.argv[3].split(","),
        float(sys.argv[4]),
        float(sys.argv[5]),
    )
    seed = int(sys.argv[6]) if len(sys.argv) > 6 else os.getpid()

    @idempotent(key="key", store=url)
    def handler(event, context):
        with open(log_path, "a") as log:  # O_APPEND: one short line is written atomically
            log.write(json.dumps({"ran": event["key"], "pid": os.getpid()}) + "\n")
        print("STARTED", flush=True)
        time.sleep(sleep)
        return {"result": f"done-{event['key']}"}

    random.Random(seed).shuffle(keys)
    outcomes = []
    for key in keys:
        try:
            outcomes.append([key, "result", handler({"key": key}, LambdaContext(timeout_s=timeout))])
        except AlreadyInProgressError:
            outcomes.append([key, "in_progress", None])
    print("OUTCOMES " + json.dumps(outcomes), flush=True)


if __name__ == "__main__":
    main()
