"""Keeping secrets out of documents."""

from __future__ import annotations

import string

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lambda_observe.tracing._scrub import clean_dsn, clean_url, ignored, scrub


def test_secret_query_values_are_replaced():
    """token, signature, X-Amz-Signature, password, api_key... values are replaced; others kept."""
    url = (
        "https://bucket.s3.amazonaws.com/key?X-Amz-Signature=abc&X-Amz-Credential=AKIA%2F&token=t1"
        "&api_key=k&password=p&page=2"
    )
    cleaned = clean_url(url)
    for secret in ("abc", "AKIA", "t1", "=k&", "=p&"):
        assert secret not in cleaned
    assert "page=2" in cleaned and cleaned.count("REDACTED") == 5


def test_user_info_password_is_hidden():
    """user:password@host keeps the user and the host; the password becomes the marker."""
    assert clean_url("https://alice:s3cret@example.com/x") == "https://alice:***REDACTED***@example.com/x"
    assert clean_dsn("postgresql://bob:hunter2@db:5432/app") == "postgresql://bob:***REDACTED***@db:5432/app"
    assert "hunter2" not in clean_dsn("host=db user=bob password=hunter2 dbname=app")
    assert "hunter2" not in clean_dsn("Server=db;Uid=bob;Pwd='hunter2';")


def test_scrub_document():
    """An SDK document: URL cut to 250, secrets gone, name made valid."""
    doc = {
        "name": "api(v2)",
        "http": {"request": {"url": "https://h/x?token=abc" + "a" * 400}},
        "sql": {"url": "mysql://u:pw@h/db", "password": "pw"},
        "cause": {"exceptions": [{"id": "1", "message": "GET /x?api_key=k3y&token=t0k failed"}]},
        "metadata": {"default": {"config": {"db_password": "pw2", "retries": 3}}},
    }
    scrub(doc)
    assert doc["name"] == "api_v2_"
    assert len(doc["http"]["request"]["url"]) <= 250 and "abc" not in doc["http"]["request"]["url"]
    assert doc["sql"] == {"url": "mysql://u:***REDACTED***@h/db"}
    assert doc["cause"]["exceptions"][0]["message"] == "GET /x?api_key=***REDACTED***&token=***REDACTED*** failed"
    assert doc["metadata"] == {"default": {"config": {"db_password": "***REDACTED***", "retries": 3}}}


def test_ignored_patterns():
    """Host and URL patterns select HTTP documents to leave out."""
    doc = {"http": {"request": {"url": "http://metadata.internal/health"}}}
    assert ignored(doc, ("*.internal",))
    assert ignored(doc, ("*/health",))
    assert not ignored(doc, ("*.example.com",))
    assert not ignored({"name": "x"}, ("*",))


# A password as people write them in URLs: any printable character that needs no escaping in
# the user info, plus percent-escapes for the rest (':', '@', '/', spaces...).
_PASSWORD = st.lists(
    st.sampled_from(string.ascii_letters + string.digits + "-._~!$&'()*+,;=")
    | st.sampled_from(["%40", "%3A", "%2F", "%20"]),
    min_size=6,
    max_size=30,
).map("".join)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), _PASSWORD, st.sampled_from(["postgresql", "mysql", "redis", "rediss", "https", "amqp"]))
def test_password_never_survives(path, password, scheme):
    """Whatever the rest of the URL and the password's characters, the password does not survive."""
    assume(password not in path)
    url = f"{scheme}://user:{password}@host:5432/{path}"
    assert password not in clean_dsn(url)
    assert password not in clean_url(url)


def test_matrix_parameters_and_sql_causes():
    """A secret ;jsessionid= path parameter is hidden in http.request.url; the cause of an SQL
    subsegment loses the literals its driver quoted back; other causes keep theirs."""
    assert clean_url("http://h/a;jsessionid=X1?q=1") == "http://h/a;jsessionid=***REDACTED***?q=1"
    assert clean_url("http://h/a/b?q=1") == "http://h/a/b?q=1"
    doc = {
        "name": "db",
        "sql": {"database_type": "PostgreSQL"},
        "cause": {"exceptions": [{"id": "1", "message": 'invalid input syntax for type oid: "X1"'}]},
        "subsegments": [{"name": "x", "cause": {"exceptions": [{"id": "2", "message": "bad 'kept'"}]}}],
    }
    scrub(doc)
    assert doc["cause"]["exceptions"][0]["message"] == 'invalid input syntax for type oid: "?"'
    assert doc["subsegments"][0]["cause"]["exceptions"][0]["message"] == "bad 'kept'"
