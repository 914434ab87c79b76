"""Keeping secrets out of documents."""

from __future__ import annotations

from hypothesis import given
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


def test_user_info_password_is_dropped():
    """user:password@host keeps the user only."""
    assert clean_url("https://alice:s3cret@example.com/x") == "https://alice@example.com/x"
    assert clean_dsn("postgresql://bob:hunter2@db:5432/app") == "postgresql://bob@db:5432/app"
    assert "hunter2" not in clean_dsn("host=db user=bob password=hunter2 dbname=app")
    assert "hunter2" not in clean_dsn("Server=db;Uid=bob;Pwd='hunter2';")


def test_scrub_document():
    """An SDK document: URL cut to 250, secrets gone, name made valid."""
    doc = {
        "name": "api(v2)",
        "http": {"request": {"url": "https://h/x?token=abc" + "a" * 400}},
        "sql": {"url": "mysql://u:pw@h/db", "password": "pw"},
    }
    scrub(doc)
    assert doc["name"] == "api_v2_"
    assert len(doc["http"]["request"]["url"]) <= 250 and "abc" not in doc["http"]["request"]["url"]
    assert doc["sql"] == {"url": "mysql://u@h/db"}


def test_ignored_patterns():
    """Host and URL patterns select HTTP documents to leave out."""
    doc = {"http": {"request": {"url": "http://metadata.internal/health"}}}
    assert ignored(doc, ("*.internal",))
    assert ignored(doc, ("*/health",))
    assert not ignored(doc, ("*.example.com",))
    assert not ignored({"name": "x"}, ("*",))


@given(st.text(max_size=60), st.text(alphabet="abcdefghij", min_size=4, max_size=12))
def test_password_never_survives(path, password):
    """Whatever the rest of the URL, a password in the user info does not survive."""
    url = f"postgresql://user:{password}@host:5432/{path}"
    assert f":{password}@" not in clean_dsn(url)
    assert f":{password}@" not in clean_url(url)
