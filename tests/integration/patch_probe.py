"""Runs in a fresh interpreter: patch the named libraries, make real calls inside a traced
handler, print the captured segment documents as JSON.

python -m tests.integration.patch_probe '{"patch": ["boto3"], "do": ["dynamodb"], ...}'
"""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Status(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = int(self.path.split("/status/")[1].split("?")[0]) if "/status/" in self.path else 200
        body = b"ok"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    spec = json.loads(sys.argv[1])
    before = set(sys.modules)
    from lambda_observe import patch, subsegment, traced
    from lambda_observe.testing import LambdaContext, collector, trace_header

    with collector() as c:
        os.environ.update(
            {
                "AWS_XRAY_DAEMON_ADDRESS": c.address,
                "_X_AMZN_TRACE_ID": trace_header(),
                "LAMBDA_TASK_ROOT": os.getcwd(),
                "AWS_LAMBDA_FUNCTION_NAME": "probe",
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
            }
        )
        if spec.get("tracing") is False:
            os.environ["LAMBDA_OBSERVE_TRACING"] = "false"
        patch(*spec.get("patch", []), ignore=spec.get("ignore", []))
        imported_by_patch = sorted(
            m
            for m in set(sys.modules) - before
            if m.split(".")[0]
            in (
                "botocore",
                "boto3",
                "requests",
                "httpx",
                "psycopg",
                "psycopg2",
                "pymysql",
                "pg8000",
                "mysql",
                "aiobotocore",
                "pymongo",
                "sqlalchemy",
            )
        )
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Status)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"

        @traced(logs=False)
        def handler(event: dict[str, Any], context: Any) -> str:
            for action in spec["do"]:
                try:
                    with subsegment(f"do {action}"):
                        ACTIONS[action](spec, base)
                except Exception as exc:  # recorded as the block's cause; expected only where asked
                    if type(exc).__name__ not in spec.get("expect_errors", ()):
                        raise
            return "done"

        outside = spec.get("outside")
        if outside:  # the same calls with no invocation at all
            for action in spec["do"]:
                ACTIONS[action](spec, base)
        result = handler({}, LambdaContext()) if not outside else "outside"
        docs = c.settle(quiet=0.2)
        raw = b"".join(c.datagrams).decode("utf-8", "replace")
        server.shutdown()
    print(json.dumps({"result": result, "docs": docs, "raw": raw, "imported_by_patch": imported_by_patch}))


def dynamodb(spec: dict[str, Any], base: str) -> None:
    import boto3

    client = boto3.client("dynamodb", endpoint_url=spec["moto"], region_name="us-east-1")
    table = spec.get("table", "probe-orders")
    try:
        client.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except client.exceptions.ResourceInUseException:
        pass
    client.put_item(TableName=table, Item={"id": {"S": "1"}})
    client.get_item(TableName=table, Key={"id": {"S": "1"}})


def _urls(base: str) -> list[str]:
    return [
        f"{base}/ok?token=abc123&page=2",
        f"{base}/status/500",
        f"{base}/status/404",
        f"{base}/status/429",
        f"{base}/health",
    ]


def _refused() -> str:
    """A URL with a password in its user info and a token in its query, on a port nobody listens on."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://probe:abc123@127.0.0.1:{port}/refused?token=abc123&page=2"


def requests_calls(spec: dict[str, Any], base: str) -> None:
    import requests

    for url in _urls(base):
        requests.get(url, timeout=5)
    try:
        requests.get(_refused(), timeout=5)
    except requests.ConnectionError:
        pass
    if spec.get("raise_for_status"):  # the error names the URL, query string included
        requests.get(f"{base}/status/503?token=abc123", timeout=5).raise_for_status()


def httpx_calls(spec: dict[str, Any], base: str) -> None:
    import httpx

    with httpx.Client() as client:
        for url in _urls(base):
            client.get(url, params=None)
        try:
            client.get(_refused())
        except httpx.ConnectError:
            pass
        if spec.get("raise_for_status"):  # the error names the URL, query string included
            client.get(f"{base}/status/503?token=abc123").raise_for_status()


def sqlite_calls(spec: dict[str, Any], base: str) -> None:
    import sqlite3

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.close()


# Statements that fail with an error message quoting the secret back (the drivers' exceptions
# become the cause of the SQL subsegment): PostgreSQL quotes the value it could not cast,
# MariaDB quotes the text near a syntax error.
POSTGRES_ECHO = "SELECT CAST('password=secretpw' AS integer)"
MYSQL_ECHO = "SELEC 'password=secretpw'"


def _echo_secret(conn: Any, statement: str) -> None:
    try:
        conn.cursor().execute(statement)
    except Exception:
        pass


def psycopg_calls(spec: dict[str, Any], base: str) -> None:
    import psycopg

    conn = psycopg.connect(spec["pg_dsn"])  # `with connect() as conn` yields the unwrapped connection
    conn.cursor().execute("SELECT 1")
    _echo_secret(conn, POSTGRES_ECHO)
    conn.close()


def psycopg_param_calls(spec: dict[str, Any], base: str) -> None:
    """A failing statement whose error quotes a parameter's value back (raised, not swallowed)."""
    import psycopg

    conn = psycopg.connect(spec["pg_dsn"])
    try:
        conn.cursor().execute("SELECT %s::oid", (spec["param"],))
    finally:
        conn.close()


def psycopg_idioms(spec: dict[str, Any], base: str) -> None:
    """psycopg 3's usual forms: conn.execute(), and the connection a `with` block gives."""
    import psycopg

    conn = psycopg.connect(spec["pg_dsn"])
    assert conn.execute("SELECT 1").fetchone() == (1,)
    conn.close()
    with psycopg.connect(spec["pg_dsn"]) as conn:
        assert conn.execute("SELECT %s", (2,), binary=True).fetchone() == (2,)
        with conn.cursor() as cur:
            cur.execute("SELECT 3")


def psycopg2_calls(spec: dict[str, Any], base: str) -> None:
    import psycopg2

    conn = psycopg2.connect(spec["pg_dsn"])
    conn.cursor().execute("SELECT 1")
    _echo_secret(conn, POSTGRES_ECHO)
    conn.close()


def pg8000_calls(spec: dict[str, Any], base: str) -> None:
    import pg8000

    conn = pg8000.connect(user=spec["pg_user"], password="secretpw", host="127.0.0.1", port=5432, database="test")
    conn.cursor().execute("SELECT 1")
    _echo_secret(conn, POSTGRES_ECHO)
    conn.close()


def pymysql_calls(spec: dict[str, Any], base: str) -> None:
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", port=3306, user="lo_test", password="secretpw", database="test")
    conn.cursor().execute("SELECT 1")
    _echo_secret(conn, MYSQL_ECHO)
    conn.close()


def mysql_calls(spec: dict[str, Any], base: str) -> None:
    import mysql.connector

    conn = mysql.connector.connect(host="127.0.0.1", port=3306, user="lo_test", password="secretpw", database="test")
    conn.cursor().execute("SELECT 1")
    _echo_secret(conn, MYSQL_ECHO)
    conn.close()


ACTIONS = {
    "dynamodb": dynamodb,
    "requests": requests_calls,
    "httpx": httpx_calls,
    "sqlite3": sqlite_calls,
    "psycopg": psycopg_calls,
    "psycopg_param": psycopg_param_calls,
    "psycopg_idioms": psycopg_idioms,
    "psycopg2": psycopg2_calls,
    "pg8000": pg8000_calls,
    "pymysql": pymysql_calls,
    "mysql": mysql_calls,
}

if __name__ == "__main__":
    main()
