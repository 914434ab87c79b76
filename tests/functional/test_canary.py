"""The secret canary: distinct secret values planted everywhere a Lambda function meets secrets
(event headers, query strings, bodies, authorizer fields; environment variables; store URLs,
DSNs and SQL parameters; exception messages; metadata and the response), then every event
sample in ``tests/data/events`` run through ``@traced`` + logging + ``@idempotent`` with event
logging on. Every log line (stdout and stderr) and every UDP datagram (a real collector) is
searched: no canary may appear anywhere."""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from lambda_observe import _json, add_metadata, get_logger, idempotent, patch, redact, traced
from lambda_observe.testing import LambdaContext
from tests.conftest import EVENTS, need, shared_event
from tests.servers import reachable

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"

SAMPLES = sorted(p.name for p in EVENTS.glob("*.json"))


@pytest.fixture(autouse=True)
def keep_patch_requests_private() -> Iterator[None]:
    """patch() in this process: forget the request afterwards so other tests see a fresh
    patch() (the SDK's own patching is idempotent, so nothing is wrapped twice later)."""
    from lambda_observe.tracing import patching

    before = set(patching._REQUESTED)
    yield
    patching._REQUESTED.intersection_update(before)


class Canaries:
    """Hands out distinct canary values and remembers where each was planted."""

    def __init__(self) -> None:
        self.where: dict[str, str] = {}

    def __call__(self, where: str) -> str:
        value = f"Cnry{len(self.where):03d}q7Z"
        self.where[value] = where
        return value

    def found(self, text: str) -> dict[str, str]:
        return {value: where for value, where in self.where.items() if value in text}


def plant(event: Any, c: Canaries, path: str = "") -> None:
    """Plant canaries in the places of a real event where secrets travel."""
    if isinstance(event, list):
        for i, item in enumerate(event):
            plant(item, c, f"{path}[{i}]")
        return
    if not isinstance(event, dict):
        return
    for key in list(event):
        value = event[key]
        here = f"{path}.{key}"
        if key in ("headers", "multiValueHeaders") and isinstance(value, dict):
            many = key == "multiValueHeaders"
            for header, secret in (
                ("Authorization", f"Bearer {c(here + '.Authorization')}"),
                ("X-Api-Key", c(here + ".X-Api-Key")),
                ("Cookie", f"session={c(here + '.Cookie')}"),
                ("X-Auth", c(here + ".X-Auth")),
                ("X-Amz-Security-Token", c(here + ".X-Amz-Security-Token")),
            ):
                value[header] = [secret] if many else secret
        elif key in ("queryStringParameters", "multiValueQueryStringParameters") and isinstance(value, dict):
            many = key.startswith("multi")
            for name in ("token", "key", "sig", "api_key"):
                secret = c(f"{here}.{name}")
                value[name] = [secret] if many else secret
        elif key == "rawQueryString":
            event[key] = f"{value}&access_token={c(here)}&sig={c(here + '.sig')}"
        elif key == "body" and isinstance(value, str | type(None)):
            if "httpMethod" in event or "requestContext" in event:  # HTTP: a form body
                event[key] = f"user=ann&password={c(here + '.password')}&key={c(here + '.key')}"
            else:  # SQS: a JSON message
                event[key] = json.dumps({"order": 1, "client_secret": c(here + ".client_secret")})
        elif key == "Message" and isinstance(value, str):  # SNS
            event[key] = json.dumps({"order": 1, "api_key": c(here + ".api_key")})
        elif key == "detail" and isinstance(value, dict):  # EventBridge
            value["credentials"] = {"password": c(here + ".credentials.password")}
        elif key == "NewImage" and isinstance(value, dict):  # DynamoDB streams
            value["password"] = {"S": c(here + ".password")}
        elif key == "messageAttributes" and isinstance(value, dict):  # SQS
            value["token"] = {"stringValue": c(here + ".token"), "dataType": "String"}
        elif key == "s3" and isinstance(value, dict):  # S3: a presigned link kept with the object
            value["object"]["presigned"] = (
                f"https://b.s3.amazonaws.com/k?X-Amz-Credential={c(here + '.cred')}%2F20260101"
                f"&X-Amz-Security-Token={c(here + '.sectoken')}&X-Amz-Signature={c(here + '.sig')}"
            )
        elif key == "kinesis" and isinstance(value, dict):  # Kinesis: the partition key is not secret
            value["sessionToken"] = c(here + ".sessionToken")
        elif key == "requestContext" and isinstance(value, dict):
            value["authorizer"] = {
                "lambda": {"token": c(here + ".authorizer.lambda.token"), "user": c(here + ".authorizer.user")},
                "jwt": {"claims": {"sub": c(here + ".authorizer.jwt.sub")}},
            }
            event["identitySource"] = [f"Bearer {c(here + '.identitySource')}"]
            plant(value, c, here)
        else:
            plant(value, c, here)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_everything(lambda_env: Any, capsys: Any, monkeypatch: Any) -> tuple[Canaries, str, int]:
    """Run every sample through both stacks; return the canaries, everything that left, the runs."""
    requests = pytest.importorskip("requests")
    psycopg = pytest.importorskip("psycopg")
    need(reachable("127.0.0.1", 5432), "PostgreSQL is not listening on 127.0.0.1:5432")
    c = Canaries()
    monkeypatch.setenv("LAMBDA_OBSERVE_LOG_EVENT", "true")
    monkeypatch.setenv("DB_PASSWORD", c("env DB_PASSWORD"))
    monkeypatch.setenv("AWS_SESSION_TOKEN", c("env AWS_SESSION_TOKEN"))
    monkeypatch.setenv("STRIPE_API_KEY", c("env STRIPE_API_KEY"))
    patch("requests", "sqlite3", "psycopg")
    log = get_logger("orders")
    store_url = f"redis://default:{c('store URL password')}@127.0.0.1:{closed_port()}/0"
    dsn = f"postgresql://app:{c('DSN password')}@db.internal:5432/orders"
    sql_param = c("SQL parameter")
    refused = f"http://127.0.0.1:{closed_port()}/v1/pay?api_key={c('URL api_key')}&token={c('URL token')}"
    metadata = {"api_key": c("metadata api_key"), "nested": {"db_password": c("metadata db_password")}}
    response_token = c("response token")
    exc_message = c("exception message")
    runs = 0

    @traced
    @idempotent(store="memory://")
    def work(event: Any, context: Any) -> Any:
        log.info("connecting to %s", dsn, extra={"config": {"password": c("log extra password")}})
        add_metadata("request", metadata)
        # How real code leaks the environment: a dump of it, and a DSN built from it in an error.
        log.debug("environment", extra={"env": dict(os.environ)})
        log.info("settings loaded", extra={"env": {k: v for k, v in os.environ.items() if k.isupper()}})
        try:
            raise ConnectionError(f"cannot reach postgresql://app:{os.environ['DB_PASSWORD']}@db.internal/orders")
        except ConnectionError:
            log.exception("database unavailable")
        conn = sqlite3.connect(":memory:")
        conn.execute("CREATE TABLE t (secret TEXT)")
        conn.execute("INSERT INTO t VALUES (?)", (sql_param,))
        conn.close()
        # A statement that fails on its parameter: the server's error quotes the value back.
        with psycopg.connect(PG_DSN) as pg:
            try:
                pg.execute("SELECT %s::oid", (sql_param,))
            except psycopg.Error:
                log.exception("query failed")
        try:
            requests.get(refused, timeout=5)
        except requests.ConnectionError:
            log.exception("payment call failed")
        if context.aws_request_id.endswith(("0", "2", "4", "6", "8", "a", "c", "e")):
            raise ValueError(f"could not log in with password={exc_message}")
        return {"statusCode": 200, "token": response_token}

    @traced
    @idempotent(store=store_url)
    def stored(event: Any, context: Any) -> Any:
        return {"statusCode": 200}

    for name in SAMPLES:
        for handler in (work, stored):
            event = shared_event(name)
            plant(event, c)
            try:
                handler(event, LambdaContext())
            except Exception:
                pass  # the handler's own exception, or the store's: both re-raised unchanged
            runs += 1
    lambda_env.collector.settle(quiet=0.2)
    logging.getLogger().handlers  # noqa: B018  (everything is flushed: our handler flushes per line)
    captured = capsys.readouterr()
    sent = b"".join(lambda_env.collector.datagrams).decode("utf-8", "replace")
    return c, captured.out + captured.err + sent, runs


def test_no_canary_leaves_the_process(lambda_env, capsys, monkeypatch, assert_valid):
    """0 canaries in every log line and every datagram, over every event sample."""
    c, everything, runs = run_everything(lambda_env, capsys, monkeypatch)
    assert runs == 2 * len(SAMPLES) and len(SAMPLES) >= 10
    assert len(c.where) > 100  # the planting reached every sample
    assert "incoming event" in everything and '"cause"' in everything  # logs and traces were produced
    assert_valid(lambda_env.collector.spans)
    assert c.found(everything) == {}


def test_canary_fails_with_redaction_off(lambda_env, capsys, monkeypatch):
    """Companion: the same run with the engine switched off finds canaries in event logs, log
    lines, exception messages, metadata and the trace cause (so the test above can fail)."""

    class Off(redact.Redactor):
        def text(self, text: str) -> str:
            return text

        def __call__(self, data: Any) -> Any:
            return data

        def clean(self, data: Any) -> Any:
            return _json.safe(data)

        def secret(self, key: object, query: bool = False) -> bool:
            return False

        def error_text(self, exc: BaseException, text: str) -> str:
            return text

        def sql_error(self, text: str) -> str:
            return text

    off = Off()
    monkeypatch.setattr(redact, "get", lambda: off)
    c, everything, _ = run_everything(lambda_env, capsys, monkeypatch)
    leaked = set(c.found(everything).values())
    planted = {where for where in c.where.values() if not where.startswith(".")}  # all but the events'
    # The Redis store hides its URL's password itself (StoreError), engine or not: its own tests
    # show that protection; every other planting outside the events leaks with the engine off.
    assert planted - leaked == {"store URL password"}
    assert any(".Authorization" in w for w in leaked) and any("authorizer" in w for w in leaked)
