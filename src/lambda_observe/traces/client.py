"""Talking to the X-Ray API: GetTraceSummaries across windows, BatchGetTraces, and clear errors.

Credentials and region come from boto3's usual chain (environment, profile, SSO, instance role).
Throttling is retried with exponential backoff and jitter; every other failure becomes an
:class:`XRayQueryError` that says what went wrong and what to do.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ._time import windows

__all__ = ["Progress", "Summary", "XRayQueryError", "batch_get_traces", "find_traces", "make_client"]

THROTTLE_CODES = frozenset(
    {"ThrottledException", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "Throttling"}
)
EXPIRED_CODES = frozenset({"ExpiredTokenException", "ExpiredToken", "RequestExpired", "TokenRefreshRequired"})
REJECTED_CODES = frozenset(
    {"UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException", "AccessDeniedException"}
)
BATCH_SIZE = 5  # BatchGetTraces takes at most 5 trace ids per call


class XRayQueryError(RuntimeError):
    """A query X-Ray could not answer. ``kind`` is one of ``credentials``, ``expired``, ``rejected``,
    ``throttled``, ``invalid`` (the request, e.g. the filter expression) or ``api`` (anything else)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class Progress:
    """How a search ended: ``stopped_early`` when ``limit`` cut it before every window and page was read."""

    stopped_early: bool = False


@dataclass
class Summary:
    """One trace from GetTraceSummaries, as shown in the table."""

    id: str
    start: datetime | None
    duration: float | None
    has_error: bool
    has_fault: bool
    has_throttle: bool
    annotations: dict[str, list[Any]] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.has_fault:
            return "fault"
        if self.has_throttle:
            return "throttle"
        if self.has_error:
            return "error"
        return "ok"

    @property
    def sort_key(self) -> float:
        if self.start is not None:
            return self.start.timestamp()
        try:  # the trace id carries its start in seconds: 1-<8 hex digits>-<24 hex digits>
            return float(int(self.id.split("-")[1], 16))
        except (IndexError, ValueError):
            return 0.0


def make_client(region: str | None = None, endpoint_url: str | None = None) -> Any:
    """A boto3 X-Ray client from the usual credential and region chain; botocore's own retries off."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise XRayQueryError("api", "the traces commands need boto3: pip install 'lambda-observe[dynamodb]' or boto3")
    from botocore import exceptions as bex

    config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, user_agent_extra="lambda-observe-traces")
    try:
        # boto3 reads AWS_DEFAULT_REGION and the profile; Lambda and many shells set only AWS_REGION
        region = region or (None if boto3.session.Session().region_name else os.environ.get("AWS_REGION"))
        return boto3.client("xray", region_name=region, endpoint_url=endpoint_url, config=config)
    except bex.NoRegionError:
        raise XRayQueryError(
            "credentials", "no AWS region: pass --region, or set AWS_REGION or a profile's region"
        ) from None
    except bex.ProfileNotFound as exc:
        raise XRayQueryError(
            "credentials",
            f"{exc}: AWS_PROFILE (or --profile) names a profile that is in neither ~/.aws/config nor "
            "~/.aws/credentials; expected one of `aws configure list-profiles`, or unset AWS_PROFILE",
        ) from None
    except bex.BotoCoreError as exc:
        raise XRayQueryError("credentials", f"could not set up the AWS client: {exc}") from None


def _explain(exc: Exception, what: str) -> XRayQueryError | None:
    """The error to show for ``exc``, or None when it is throttling (to be retried)."""
    from botocore import exceptions as bex

    if isinstance(exc, bex.NoCredentialsError):
        return XRayQueryError(
            "credentials",
            "no AWS credentials found: set AWS_PROFILE (and run `aws sso login` for an SSO profile), "
            "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        )
    sso_names = ("TokenRetrievalError", "SSOTokenLoadError", "UnauthorizedSSOTokenError")
    sso_errors = tuple(getattr(bex, n) for n in sso_names if hasattr(bex, n))
    if sso_errors and isinstance(exc, sso_errors):
        return XRayQueryError("expired", f"the AWS session has expired ({exc}); log in again, e.g. `aws sso login`")
    if isinstance(exc, bex.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message", "")) or str(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in THROTTLE_CODES or status == 429:
            return None
        if code in EXPIRED_CODES:
            return XRayQueryError(
                "expired",
                f"the AWS security token has expired ({code}: {message}); refresh your credentials "
                "(for example `aws sso login`, or new temporary keys) and try again",
            )
        if code in REJECTED_CODES:
            return XRayQueryError("rejected", f"AWS refused the credentials for {what} ({code}: {message})")
        if code == "InvalidRequestException":
            return XRayQueryError("invalid", f"X-Ray refused the request for {what}: {message}")
        return XRayQueryError("api", f"X-Ray answered {what} with {code or 'an error'} (HTTP {status}): {message}")
    if isinstance(exc, bex.EndpointConnectionError):
        return XRayQueryError("api", f"could not reach X-Ray: {exc}")
    return XRayQueryError("api", f"{what} failed: {type(exc).__name__}: {exc}")


def call(
    fn: Callable[..., dict[str, Any]],
    what: str,
    attempts: int = 6,
    base_delay: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    **params: Any,
) -> dict[str, Any]:
    """``fn(**params)``, retrying throttling with exponential backoff and full jitter."""
    started = time.monotonic()
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            return fn(**params)
        except Exception as exc:
            problem = _explain(exc, what)
            if problem is not None:
                raise problem from None
            last = exc
            if attempt + 1 < attempts:
                sleep(random.uniform(0, base_delay * 2**attempt))
    waited = time.monotonic() - started
    raise XRayQueryError(
        "throttled",
        f"X-Ray kept throttling {what} ({last}) after {attempts} attempts over {waited:.1f} s; "
        "try again in a minute, or query a shorter range or a narrower filter",
    )


def find_traces(
    client: Any,
    since: datetime,
    until: datetime,
    filter_expression: str | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
    **retry: Any,
) -> Iterator[Summary]:
    """Summaries from every window of at most 6 hours, newest window first, each page followed.

    Stops after the window (or page) that brings the count to ``limit``. A trace seen in two
    windows is yielded once.
    """
    seen: set[str] = set()
    spans = windows(since, until)
    for number, (start, end) in enumerate(spans):
        params: dict[str, Any] = {"StartTime": start, "EndTime": end, "TimeRangeType": "TraceId"}
        if filter_expression:
            params["FilterExpression"] = filter_expression
        span = f"GetTraceSummaries {start:%Y-%m-%d %H:%M}..{end:%H:%M}Z"
        while True:
            page = call(client.get_trace_summaries, span, **retry, **params)
            for raw in page.get("TraceSummaries") or []:
                tid = raw.get("Id")
                if not tid or tid in seen:
                    continue
                seen.add(tid)
                yield Summary(
                    id=tid,
                    start=raw.get("StartTime"),
                    duration=raw.get("Duration"),
                    has_error=bool(raw.get("HasError")),
                    has_fault=bool(raw.get("HasFault")),
                    has_throttle=bool(raw.get("HasThrottle")),
                    annotations=raw.get("Annotations") or {},
                    raw=raw,
                )
            token = page.get("NextToken")
            if not token or (limit is not None and len(seen) >= limit):
                break
            params["NextToken"] = token
        params.pop("NextToken", None)
        if limit is not None and len(seen) >= limit:
            if progress is not None:
                progress.stopped_early = bool(token) or number + 1 < len(spans)
            return


def batch_get_traces(client: Any, trace_ids: list[str], **retry: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """The raw ``Trace`` objects for ``trace_ids`` (5 per call, pages followed) and the ids X-Ray did not return."""
    traces: list[dict[str, Any]] = []
    missing: list[str] = []
    for i in range(0, len(trace_ids), BATCH_SIZE):
        params: dict[str, Any] = {"TraceIds": trace_ids[i : i + BATCH_SIZE]}
        while True:
            page = call(client.batch_get_traces, "BatchGetTraces", **retry, **params)
            traces.extend(page.get("Traces") or [])
            missing.extend(page.get("UnprocessedTraceIds") or [])
            token = page.get("NextToken")
            if not token:
                break
            params["NextToken"] = token
    found = {t.get("Id") for t in traces}
    missing.extend(trace_ids)  # an id neither returned nor listed as unprocessed is missing too
    return traces, [t for t in dict.fromkeys(missing) if t not in found]
