"""Selective patching, proved with real traffic in a fresh interpreter per case:
boto3 against moto's DynamoDB server, requests and httpx against a local HTTP server,
sqlite3, and the PostgreSQL and MariaDB drivers against the real databases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need
from tests.servers import reachable

ROOT = Path(__file__).resolve().parents[2]
SECRET = "secretpw"


def probe(spec: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.integration.patch_probe", json.dumps(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("LAMBDA_OBSERVE_")},
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    out["stderr"] = proc.stderr
    return out  # type: ignore[no-any-return]


def subsegments(out: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in out["docs"] if not d["name"].startswith(("## ", "do "))]


def parent_names(out: dict[str, Any]) -> dict[str, str]:
    by_id = {d["id"]: d["name"] for d in out["docs"]}
    return {d["id"]: by_id.get(d["parent_id"], "?") for d in out["docs"]}


@pytest.fixture(scope="module")
def postgres() -> dict[str, str]:
    need(reachable("127.0.0.1", 5432), "PostgreSQL is not listening on 127.0.0.1:5432")
    return {"pg_dsn": f"postgresql://postgres:{SECRET}@127.0.0.1:5432/test", "pg_user": "postgres"}


@pytest.fixture(scope="module")
def mariadb() -> None:
    need(reachable("127.0.0.1", 3306), "MariaDB is not listening on 127.0.0.1:3306")
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", database="test")
    with conn.cursor() as cur:
        for host in ("%", "localhost"):
            cur.execute(f"CREATE USER IF NOT EXISTS 'lo_test'@'{host}' IDENTIFIED BY '{SECRET}'")
            cur.execute(f"GRANT ALL ON test.* TO 'lo_test'@'{host}'")
    conn.close()


def test_boto3_calls_become_aws_subsegments_and_others_stay_untouched(moto_endpoint, assert_valid):
    """patch("boto3") traces DynamoDB calls (operation, table, region, request id); requests is not traced."""
    out = probe({"patch": ["boto3"], "do": ["dynamodb", "requests"], "moto": moto_endpoint})
    assert out["result"] == "done"
    assert_valid(out["docs"])
    aws = subsegments(out)
    assert {d["aws"]["operation"] for d in aws} == {"CreateTable", "PutItem", "GetItem"}
    for doc in aws:
        assert doc["namespace"] == "aws" and doc["name"].lower() == "dynamodb"
        assert doc["aws"]["region"] == "us-east-1"
        assert doc["aws"]["table_name"] == "probe-orders"
        assert doc["aws"]["request_id"]
    parents = parent_names(out)
    assert {parents[d["id"]] for d in aws} == {"do dynamodb"}
    assert not [d for d in out["docs"] if "http" in d and d.get("namespace") == "remote"]


def test_patch_boto3_does_not_import_botocore():
    """Patching is deferred: naming a library does not import it."""
    out = probe({"patch": ["boto3", "requests", "httpx", "psycopg2", "pymysql"], "do": []})
    assert out["imported_by_patch"] == []


@pytest.mark.parametrize("library", ["requests", "httpx"])
def test_http_calls_status_flags_secrets_and_ignore(library, assert_valid):
    """HTTP subsegments: method, URL, status; 5xx fault, 4xx error, 429 throttle; secret query
    values and user-info passwords never sent, in URLs or in the cause of a refused call;
    ignored endpoints not traced; the other library stays untouched."""
    other = "httpx" if library == "requests" else "requests"
    out = probe(
        {
            "patch": [library],
            "do": [library, other],
            "ignore": ["*/health"],
            "raise_for_status": True,
            "expect_errors": ["HTTPError", "HTTPStatusError"],
        }
    )
    assert_valid(out["docs"])
    blocks = {d["name"]: d for d in out["docs"] if d["name"].startswith("do ")}
    assert blocks[f"do {library}"]["cause"]["exceptions"][0]["message"].count("token=***REDACTED***") == 1
    http = subsegments(out)
    refused = [d for d in http if "/refused" in d["http"]["request"]["url"]]
    assert len(refused) == 1 and refused[0].get("fault") and refused[0]["cause"]["exceptions"]
    # requests' patcher keeps the user info in the URL (hidden); httpx's leaves it out
    assert refused[0]["http"]["request"]["url"].startswith(
        ("http://probe:***REDACTED***@127.0.0.1:", "http://127.0.0.1:")
    )
    http = [d for d in http if d not in refused]
    assert len(http) == 5, [d["name"] for d in http]
    by_status = {d["http"]["response"]["status"]: d for d in http}
    assert set(by_status) == {200, 500, 404, 429, 503}
    assert by_status[500].get("fault") is True
    assert by_status[404].get("error") is True and not by_status[404].get("fault")
    assert by_status[429].get("throttle") is True
    for doc in http:
        assert doc["http"]["request"]["method"].upper() == "GET"
        assert doc["http"]["request"]["url"].startswith("http://127.0.0.1:")
        assert "/health" not in doc["http"]["request"]["url"]
    # Fails with the scrubbing off: requests' URL user info and refused-call cause carry it, and
    # with the engine off, both libraries' raise_for_status() messages in the block's cause.
    assert "abc123" not in out["raw"]
    assert {parent_names(out)[d["id"]] for d in [*http, *refused]} == {f"do {library}"}


def test_sqlite_queries_become_sql_subsegments(assert_valid):
    """patch("sqlite3") gives an SQL subsegment per statement."""
    out = probe({"patch": ["sqlite3"], "do": ["sqlite3"]})
    assert_valid(out["docs"])
    sql = subsegments(out)
    assert len(sql) == 2
    assert all(d["sql"]["database_type"] == "sqlite3" and d["namespace"] == "remote" for d in sql)


def test_database_drivers_produce_password_free_sql_subsegments(postgres, mariadb, assert_valid):
    """psycopg, psycopg2, pg8000, pymysql and mysql-connector against the real servers: SQL
    subsegments nested under the block that ran them, and the password nowhere in a datagram,
    not even in the cause of a failed statement whose error message quotes it back."""
    drivers = ["psycopg", "psycopg2", "pg8000", "pymysql", "mysql"]
    out = probe({"patch": ["psycopg", "psycopg2", "pg8000", "pymysql", "mysql-connector"], "do": drivers, **postgres})
    assert "could not patch" not in out["stderr"], out["stderr"]
    assert_valid(out["docs"])
    sql = subsegments(out)
    parents = parent_names(out)
    assert {parents[d["id"]] for d in sql} == {f"do {d}" for d in drivers}
    # mysql-connector's patcher traces the connection, not each statement: no cause for it
    failed = [d for d in sql if d.get("cause")]
    assert sorted(parents[d["id"]] for d in failed) == sorted(f"do {d}" for d in drivers if d != "mysql")
    for doc in failed:  # the driver's error quotes the statement: its literals are replaced, or hidden by name
        message = " ".join(e["message"] for e in doc["cause"]["exceptions"])
        assert SECRET not in json.dumps(doc["cause"]), doc["cause"]
        assert "'?'" in message or '"?"' in message or "password=***REDACTED***" in message, message
    kinds = {parents[d["id"]]: d["sql"] for d in sql}
    assert kinds["do psycopg"]["driver_version"] == "Psycopg 3"
    assert kinds["do psycopg2"]["database_type"] == "PostgreSQL"
    assert kinds["do pymysql"]["user"] == "lo_test"
    assert SECRET not in out["raw"]  # fails with the scrubbing off: the failed statements' causes carry it


def test_psycopg3_conn_execute_and_with_connect_are_traced(postgres, assert_valid):
    """psycopg 3's usual idiom, conn.execute(), is traced, as is the connection a
    `with psycopg.connect() as conn` block gives (and a cursor used as a context manager):
    three statements, three SQL subsegments under the block that ran them."""
    out = probe({"patch": ["psycopg"], "do": ["psycopg_idioms"], **postgres})
    assert "could not patch" not in out["stderr"], out["stderr"]
    assert_valid(out["docs"])
    sql = [d for d in subsegments(out) if "sql" in d]
    parents = parent_names(out)
    assert [parents[d["id"]] for d in sql] == ["do psycopg_idioms"] * 3, sql
    assert {d["sql"]["driver_version"] for d in sql} == {"Psycopg 3"}
    assert SECRET not in out["raw"]


def test_patched_calls_outside_lambda_and_with_tracing_off_are_quiet(moto_endpoint):
    """Patched libraries work with no invocation and with tracing switched off: no documents, no noise."""
    outside = probe(
        {
            "patch": ["boto3", "requests"],
            "do": ["dynamodb", "requests"],
            "moto": moto_endpoint,
            "outside": True,
            "table": "outside",
        }
    )
    assert outside["docs"] == [] and outside["stderr"] == ""
    off = probe(
        {
            "patch": ["boto3", "requests"],
            "do": ["dynamodb", "requests"],
            "moto": moto_endpoint,
            "tracing": False,
            "table": "off",
        }
    )
    assert off["docs"] == [] and off["stderr"] == ""


def test_a_parameter_value_quoted_back_by_the_driver_is_hidden(postgres, assert_valid):
    """patch("psycopg"): a statement fails with an error that quotes a parameter's value
    (``invalid input syntax for type oid: "..."``). The SQL subsegment's cause and the block's
    cause keep the error with the literal replaced; the value is in no datagram."""
    param = "CANsqlparamZq9"
    out = probe(
        {
            "patch": ["psycopg"],
            "do": ["psycopg_param"],
            "expect_errors": ["InvalidTextRepresentation"],
            "param": param,
            **postgres,
        }
    )
    assert_valid(out["docs"])
    causes = [e["message"] for d in out["docs"] for e in (d.get("cause") or {}).get("exceptions", []) if "message" in e]
    assert any('invalid input syntax for type oid: "?"' in m for m in causes), causes
    assert param not in out["raw"]  # fails with the literal replacement off: both causes quote it
