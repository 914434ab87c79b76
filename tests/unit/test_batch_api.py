"""lambda_observe.batch's public surface, and an import that stays light."""

from __future__ import annotations

import json
import subprocess
import sys


def test_batch_exports_exactly_its_public_names():
    """__all__ is sorted and exact; the error tree is as documented."""
    from lambda_observe import batch

    assert batch.__all__ == sorted(batch.__all__)
    assert set(batch.__all__) == {
        "AllRecordsFailedError",
        "BatchError",
        "HandlerIdentityError",
        "async_process_partial_response",
        "process_partial_response",
    }
    assert issubclass(batch.AllRecordsFailedError, batch.BatchError)
    assert issubclass(batch.BatchError, Exception)
    assert issubclass(batch.HandlerIdentityError, batch.BatchError)
    assert issubclass(batch.HandlerIdentityError, TypeError)


def test_importing_batch_imports_nothing_heavy():
    """import lambda_observe.batch loads no SDK, boto3, JMESPath, inspect or asyncio, and adds no log handler."""
    code = (
        "import sys, logging, json\n"
        "before = set(sys.modules)\n"
        "import lambda_observe.batch\n"
        "new = sorted(set(sys.modules) - before)\n"
        "print(json.dumps({'new': new, 'handlers': len(logging.getLogger().handlers)}))\n"
    )
    out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    heavy = {"aws_xray_sdk", "boto3", "botocore", "jmespath", "wrapt", "inspect", "asyncio", "redis", "socket"}
    assert [m for m in out["new"] if m.split(".")[0] in heavy] == []
    assert out["handlers"] == 0


def test_a_sync_batch_does_not_import_inspect_or_asyncio():
    """Running a batch with a plain record handler keeps inspect and asyncio out of the process, and without
    idempotent_key no idempotency machinery (the record state machine, JMESPath) is loaded at all."""
    unwanted = ("inspect", "asyncio", "jmespath", "lambda_observe.idempotency._records")
    code = (
        "import sys, json\n"
        "from lambda_observe.batch import process_partial_response\n"
        "event = {'Records': [{'messageId': 'm', 'body': '{}', 'eventSource': 'aws:sqs', 'eventSourceARN': 'q'}]}\n"
        "assert process_partial_response(event, lambda r: None) == {'batchItemFailures': []}\n"
        f"print(json.dumps(sorted(m for m in {unwanted!r} if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []
