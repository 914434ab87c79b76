"""``lambda-observe invoke``: run a handler as Lambda would, on this machine."""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .. import _json
from .collector import Collector
from .context import LambdaContext
from .events import load
from .waterfall import render

__all__ = ["InvokeResult", "invoke"]


@dataclass
class InvokeResult:
    """What happened in each invocation."""

    responses: list[Any] = field(default_factory=list)
    errors: list[BaseException | None] = field(default_factory=list)
    documents: list[list[dict[str, Any]]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(e is not None for e in self.errors)


def new_trace_header() -> tuple[str, str]:
    root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    return root, f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=1"


def _lambda_env(function_name: str, task_root: str, collector: Collector, timeout: float) -> dict[str, str]:
    return {
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(timeout)),
        "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
        "LAMBDA_TASK_ROOT": task_root,
        "AWS_XRAY_DAEMON_ADDRESS": collector.address,
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
    }


def invoke(
    handler_spec: str,
    event: str | None = None,
    times: int = 1,
    timeout: float = 30.0,
    out: TextIO | None = None,
    html: str | None = None,
) -> InvokeResult:
    """Run ``handler_spec`` ``times`` times on ``event`` and print responses and waterfalls;
    with ``html``, also write every invocation's trace to that page."""
    from .. import _invocation, config
    from .._loader import load_handler
    from ..tracing import _state

    stream = out or sys.stdout
    if times < 1:
        raise ValueError(f"--times {times}: expected 1 or more")
    if timeout <= 0:
        raise ValueError(f"--timeout {timeout}: expected a positive number of seconds")
    path = handler_spec.rpartition(":")[0] if ":" in handler_spec else "."
    task_root = str(Path(path).resolve().parent) if ":" in handler_spec else os.getcwd()
    function_name = Path(path).resolve().parent.name if ":" in handler_spec else handler_spec.split(".")[0]
    result = InvokeResult()
    with Collector() as collector:
        for key, value in _lambda_env(function_name or "local", task_root, collector, timeout).items():
            os.environ[key] = value
        os.environ.setdefault("LAMBDA_OBSERVE_IDEMPOTENCY_STORE", f"sqlite:///{Path('.lambda_observe/idempotency.db')}")
        config.reset()
        _state.reset()
        _invocation.reset_process()
        handler = load_handler(handler_spec, source="handler")
        for n in range(times):
            payload = load(event)
            root, header = new_trace_header()
            os.environ["_X_AMZN_TRACE_ID"] = header
            context = LambdaContext(function_name=function_name or "local", timeout_s=timeout)
            print(f"--- invocation {n + 1}/{times}  request id {context.aws_request_id}", file=stream)
            stream.flush()
            started = time.time()
            error: BaseException | None = None
            response: Any = None
            try:
                response = handler(payload, context)
            except Exception as exc:
                error = exc
            elapsed = time.time() - started
            sys.stdout.flush()
            if error is None:
                print("response:", _json.dumps(response), file=stream)
            else:
                shape = {
                    "errorMessage": str(error),
                    "errorType": type(error).__name__,
                    "requestId": context.aws_request_id,
                    "stackTrace": traceback.format_tb(error.__traceback__),
                }
                print("error:", json.dumps(shape, indent=2), file=stream)
            if elapsed > timeout:
                print(f"Task timed out after {timeout:.2f} seconds (ran {elapsed:.2f} s)", file=stream)
                if error is None:
                    error = TimeoutError(f"ran {elapsed:.2f} s, over the {timeout:.2f} s timeout")
            docs = [d for d in collector.settle(quiet=0.05) if d.get("trace_id") == root]
            print(render(docs), file=stream)
            result.responses.append(response)
            result.errors.append(error)
            result.documents.append(docs)
        _state.reset()
    if html:
        from .page import write_page

        docs = [d for group in result.documents for d in group]
        title = f"{function_name or 'local'}: lambda-observe invoke"
        print(f"wrote {write_page(html, docs, title=title, function=function_name)}", file=stream)
    return result
