"""The redaction engine: secret-looking keys at any depth, secrets inside text (query strings,
form bodies, URLs, DSNs, header lines, JSON and Python reprs), and the property that a planted
secret never survives, wherever it is planted."""

from __future__ import annotations

import json
import string
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lambda_observe import _json, redact
from lambda_observe.redact import REDACTED, Redactor

R = Redactor()


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("Authorization", True),
        ("proxy-authorization", True),
        ("Cookie", True),
        ("set-cookie", True),
        ("x-api-key", True),
        ("apiKey", True),
        ("X-Auth", True),
        ("x-auth-user", True),
        ("db_pass", True),
        ("SMTP_PASS", True),
        ("dbPass", True),
        ("password", True),
        ("client_secret", True),
        ("access_token", True),
        ("X-Amz-Security-Token", True),
        ("aws_access_key_id", True),
        ("private_key", True),
        ("signature", True),
        ("sig", True),
        ("identitySource", True),
        ("authorizer", True),
        ("sessionId", True),
        ("x-jwt-assertion", True),
        ("passenger", False),
        ("bypass", False),
        ("author", False),
        ("key", False),
        ("partitionKey", False),
        ("Host", False),
        ("user", False),
        ("sourceIp", False),
    ],
)
def test_secret_keys(key, secret):
    """Which keys count as secret (everywhere); ``key`` and ``code`` only in query strings and forms."""
    assert R.secret(key) is secret


def test_query_only_names():
    """``key``, ``sig``, ``code``, ``auth`` are secret as query/form names, not as ordinary keys."""
    assert R.secret("key", query=True) and R.secret("code", query=True)
    assert not R.secret("code")
    event = {"queryStringParameters": {"key": "k1", "code": "c1", "page": "2"}, "s3": {"object": {"key": "a.jpg"}}}
    assert R(event) == {
        "queryStringParameters": {"key": REDACTED, "code": REDACTED, "page": "2"},
        "s3": {"object": {"key": "a.jpg"}},
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/x?api_key=S1&token=T1&page=2", f"/x?api_key={REDACTED}&token={REDACTED}&page=2"),
        ("user=ann&password=hunter2", f"user=ann&password={REDACTED}"),
        ("key=k1&page=2", f"key={REDACTED}&page=2"),
        (
            "see https://h/p?sig=s1&X-Amz-Security-Token=IQo%2F",
            f"see https://h/p?sig={REDACTED}&X-Amz-Security-Token={REDACTED}",
        ),
        ("Authorization: Bearer abc.def", f"Authorization: {REDACTED}"),
        ("{'password': 'p w', 'user': 'x'}", f"{{'password': '{REDACTED}', 'user': 'x'}}"),
        ('body {"token": "t1", "n": 1}', f'body {{"token": "{REDACTED}", "n": 1}}'),
        ('{\\"secret\\": \\"s1\\"}', f'{{\\"secret\\": \\"{REDACTED}\\"}}'),
        ("redis://default:pw@127.0.0.1:1/0", f"redis://default:{REDACTED}@127.0.0.1:1/0"),
        ("host=db user=bob password=hunter2 dbname=app", f"host=db user=bob password={REDACTED} dbname=app"),
        ("Server=db;Uid=bob;Pwd='hunter2';", f"Server=db;Uid=bob;Pwd='{REDACTED}';"),
        ("a: b: c: token: x", f"a: b: c: token: {REDACTED}"),
        ("Cookie: theme=dark; session=s1\nHost: h", f"Cookie: {REDACTED}\nHost: h"),
        ('{"Cookie": "a=1; s=2", "Host": "h"}', f'{{"Cookie": "{REDACTED}", "Host": "h"}}'),
        ("at 12:00 the key: k stayed", "at 12:00 the key: k stayed"),
        ("nothing to see here", "nothing to see here"),
    ],
)
def test_text(text, expected):
    """Secrets inside free text are hidden; everything around them is kept."""
    assert R.text(text) == expected


def test_data_at_any_depth_json_bodies_and_cycles():
    """Nested keys, JSON-string bodies and form bodies are redacted; cycles and depth are safe."""
    loop: dict[str, Any] = {"password": "p1"}
    loop["me"] = loop
    data = {
        "a": [{"b": {"client_secret": "s1"}}],
        "body": json.dumps({"user": "ann", "nested": {"apiKey": "k1"}}),
        "form": "user=ann&password=p2",
        "loop": loop,
        "t": ("x", {"token": "t1"}),
    }
    out = R(data)
    assert out["a"] == [{"b": {"client_secret": REDACTED}}]
    assert json.loads(out["body"]) == {"user": "ann", "nested": {"apiKey": REDACTED}}
    assert out["form"] == f"user=ann&password={REDACTED}"
    assert out["loop"] == {"password": REDACTED, "me": "<circular reference>"}
    assert out["t"] == ["x", {"token": REDACTED}]
    assert data["a"] == [{"b": {"client_secret": "s1"}}]  # the caller's data is not changed
    body = '{ "user": "ann",  "n": 1 }'
    assert R({"body": body})["body"] is body  # a body with nothing to hide is kept byte for byte


def test_extra_patterns_from_config_and_setup(monkeypatch):
    """LAMBDA_OBSERVE_REDACT_KEYS and configure() add patterns; a bad one is a clear ValueError."""
    monkeypatch.setenv("LAMBDA_OBSERVE_REDACT_KEYS", "^ssn$")
    from lambda_observe import config

    config.reset()
    redact.configure(["card"])
    engine = redact.get()
    assert engine.secret("ssn") and engine.secret("credit_card") and not engine.secret("ssn_count")
    assert redact.get() is engine  # built once
    with pytest.raises(ValueError, match="not a valid regular expression"):
        Redactor(["(unclosed"])


def test_text_without_markers_is_returned_as_is():
    """A string with no '=' or ':' is the very same object (no copy, no regular expression)."""
    text = "order 42 stored in 3 ms"
    assert R.text(text) is text


# ---------------------------------------------------------------------------------------------
# Property: a generated secret planted in any of the places secrets live never comes out.

_CORES = [
    "password", "passwd", "pwd", "pass", "secret", "token", "api_key", "apikey", "access_key",
    "private_key", "credential", "credentials", "signature", "sig", "auth", "authorization",
    "cookie", "jwt", "session_id", "security_token",
]  # fmt: skip


def _case(word: str, style: int) -> str:
    return [word, word.upper(), word.title(), word.replace("_", "-")][style]


SECRET_KEYS = st.builds(
    lambda prefix, core, suffix, style: _case(f"{prefix}{core}{suffix}", style),
    st.sampled_from(["", "x_", "db_", "client_", "x-amz-", "my_", "aws_"]),
    st.sampled_from(_CORES),
    st.sampled_from(["", "_value", "_id", "-header", "_1"]),
    st.integers(0, 3),
)
QUERY_NAMES = SECRET_KEYS | st.sampled_from(["key", "sig", "code", "auth", "X-Amz-Signature", "X-Amz-Credential"])
# Values as secrets look: tokens, base64, URL-safe text, with a prefix no fixed text contains.
SECRETS = st.text(string.ascii_letters + string.digits + "-_.~+/", min_size=8, max_size=40).map(lambda s: "Zq9" + s)
# Names that match a pattern but are documented as not secret (docs/redaction.md).
NOT_SECRET_NAMES = {"secret_id", "tokens"}
PLAIN_KEYS = st.sampled_from(["user", "id", "page", "Host", "region", "items", "data", "detail"])


def _leaks(engine: Redactor, secret: str, key: str, name: str) -> list[str]:
    """Where ``secret`` survives, across every way of planting it (empty when none does)."""
    qs = f"page=2&{quote(name, safe='')}={quote(secret, safe='')}&sort=asc"
    planted = {
        "nested": {"data": [{"detail": {key: secret}}]},
        "header": {"headers": {key: secret, "Host": "h"}, "multiValueHeaders": {key: [secret]}},
        "query dict": {"queryStringParameters": {name: secret, "page": "2"}},
        "raw query": {"rawQueryString": qs},
        "url": {"detail": f"https://example.com/p?{qs}"},
        "form body": {"body": urlencode([("user", "ann"), (name, secret)])},
        "json body": {"body": json.dumps({"user": "ann", "data": {key: secret}})},
        "dsn": {"detail": f"postgresql://app:{secret}@db.internal:5432/orders"},
        "redis url": {"detail": f"redis://default:{secret}@127.0.0.1:6379/0"},
        "kv dsn": {"detail": f"host=db user=app {key}={secret} dbname=orders"},
        "message": {"detail": f"login failed: {key}={secret}"},
        "header line": {"detail": f"{key}: {secret}"},
        "repr": {"detail": repr({"user": "ann", key: secret})},
        "json text": {"detail": "payload " + json.dumps({key: secret})},
    }
    out = []
    for where, data in planted.items():
        if secret in json.dumps(engine(data)):
            out.append(where)
    return out


@settings(max_examples=150, deadline=None)
@given(secret=SECRETS, key=SECRET_KEYS, name=QUERY_NAMES)
def test_planted_secrets_never_survive(secret, key, name):
    """Generated secrets under generated secret-looking keys, headers, query parameters, form
    bodies, JSON bodies, URLs, DSNs and messages never appear in the redacted output."""
    assume(secret not in key and secret not in name)
    assume(not {key.lower().replace("-", "_"), name.lower().replace("-", "_")} & NOT_SECRET_NAMES)
    assert _leaks(R, secret, key, name) == []


class _Off(Redactor):
    """The engine with its protection switched off."""

    def text(self, text: str) -> str:
        return text

    def __call__(self, data: Any) -> Any:
        return data


def test_the_secret_property_fails_with_redaction_off():
    """Companion: the same check, with the engine switched off, finds the secret in every place."""
    leaks = _leaks(_Off(), "Zq9plantedSecret", "db_password", "api_key")
    assert len(leaks) == 14, leaks


# ---------------------------------------------------------------------------------------------
# Leaks a hostile tester found (issue 12): each case leaked "X1" (or was over-redacted) before.

LEAKS = [
    # 1. any scheme word after Authorization
    "Authorization: bearer X1", "Authorization: token X1", "authorization: ApiKey X1",
    "Proxy-Authorization: Digest username=\"a\", response=\"X1\"",
    # 2. unquoted values and their delimiters
    "password=abc;X1", "password=abc,X1", "password=abc&X1", "password=abc>X1", "password=ab'X1'",
    "password=correct horse X1", "password=(X1)", "token=[X1]", 'password="X1', 'password="ab"X1',
    "jdbc:postgresql://db/app;user=u;password=abc;X1", "secret: X1 is the value",
    # 3. non-string values in reprs and JSON
    "{'password': b'X1'}", "{'auth': ('u','X1')}", '{"token": ["X1"]}', '{"credentials": {"value": "X1"}}',
    "failed: {'api_key': {'k': ['a', 'X1']}, 'n': 1}",
    # 5. matrix parameters
    "http://h/a;jsessionid=X1?q=1", "GET /a;sessionid=X1 HTTP/1.1",
    # 7. user info shapes
    "https://X1@github.com/org/repo.git", "postgresql://admin@srv:X1@srv.postgres.database.azure.com/db",
    "app:X1@db:5432/orders", "DATABASE_URL=app:X1@db:5432/orders",
    "redirect_uri=https%3A%2F%2Fx%2Fcb%3Faccess_token%3DX1", "url=https%3A%2F%2Fb%2Fk%3FX-Amz-Signature%3DX1",
    "/cb?access%5Ftoken=X1", "https://h/p#access_token=X1", "postgresql://u:pa/ss@X1@h/db",
    # 9. names
    "Ocp-Apim-Subscription-Key: X1", "x-functions-key: X1", "X-Authentication: X1", "X-Shopify-Hmac-Sha256: X1",
    "XAuth=X1", "PGPASS=X1", "db_pw=X1", "otp=X1",
    "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=X1;EndpointSuffix=core.windows.net",
    "<Password>X1</Password>", "<ns:ClientSecret>X1</ns:ClientSecret>", "run --password X1 now", "run --token=X1",
    "mysql -uroot -pX1 db", "password\uff1dX1", "a" * 90 + "_password=X1",
    # 6. SQL statements
    "ALTER USER bob PASSWORD 'X1'", "CREATE USER bob IDENTIFIED BY 'X1'", "ALTER ROLE bob WITH PASSWORD \"X1\"",
]  # fmt: skip


@pytest.mark.parametrize("text", LEAKS)
def test_found_leaks_are_hidden(text):
    """Each shape the tester found leaking: the planted X1 does not survive."""
    assert "X1" not in R.text(text)


@pytest.mark.parametrize(
    "text",
    [
        "https://api.example.com:443/users?email=ann@example.com",
        "usage input_tokens=5 output_tokens=7 max_tokens=9 tokens=21",
        "NextToken=abc123 SecretId=arn:aws:secretsmanager:eu-west-1:1:secret:db",
        "AuthType=NONE signature_version=s3v4",
        "PWD=/var/task",
        "ssh://git@github.com/org/repo.git",
        "mailto:ann@example.com",
        "host=db user=bob password=*** dbname=app".replace("password=*** ", ""),
    ],
)
def test_not_secrets_are_kept(text):
    """Over-redaction the tester found: host:port before an '@' in the query, token counts,
    pagination tokens, secret names, the working directory; they are kept as they are."""
    assert R.text(text) == text


def test_free_text_values_stop_at_the_next_pair():
    """A key=value connection string keeps the pairs after the password."""
    assert R.text("host=db user=bob password=hunter2 dbname=app") == f"host=db user=bob password={REDACTED} dbname=app"
    assert R({"PWD": "/var/task", "pwd": "hunter2"}) == {"PWD": "/var/task", "pwd": REDACTED}


PRINTABLE = st.text(
    st.characters(min_codepoint=33, max_codepoint=0x2FF, blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp")),
    min_size=6,
    max_size=30,
).map(lambda s: "Zq9" + s)
SCHEMES = st.text(string.ascii_letters + "-", min_size=1, max_size=12)


def _text_leaks(engine: Redactor, secret: str, scheme: str) -> list[str]:
    """Where ``secret`` survives in text, across the shapes of leaks 1-3 and 7 (each shape with
    the secret as it is written there: escaped in reprs and JSON, percent-encoded in URLs)."""
    url_safe = quote(secret, safe="")
    in_repr = repr(secret)[1:-1]
    in_json = json.dumps(secret)[1:-1]
    planted = {
        "authorization": (f"headers: Authorization: {scheme} {secret}\nHost: h", secret),
        "proxy authorization": (f"proxy-authorization: {scheme} {secret}", secret),
        "free text": (f"login failed password={secret}", secret),
        "colon": (f"secret: {secret}", secret),
        "query": (f"/x?page=1&token={url_safe}&n=2", url_safe),
        "repr": (repr({"user": "ann", "password": secret}), in_repr),
        "repr bytes": (repr({"password": secret.encode()}), repr(secret.encode())[2:-1]),
        "repr tuple": (repr({"auth": ("u", secret)}), in_repr),
        "json list": (json.dumps({"token": [secret]}), in_json),
        "json object": (json.dumps({"credentials": {"value": secret}}), in_json),
        "json escaped in text": (json.dumps(json.dumps({"token": secret})), json.dumps(in_json)[1:-1]),
        "url token user": (f"https://{url_safe}@github.com/org/repo.git", url_safe),
        "url password": (f"redis://default:{url_safe}@cache:6379/0", url_safe),
        "azure user": (f"postgresql://admin@srv:{url_safe}@srv.postgres.database.azure.com/db", url_safe),
    }
    return [where for where, (text, needle) in planted.items() if needle in engine.text(text)]


@settings(max_examples=200, deadline=None)
@given(PRINTABLE, SCHEMES)
def test_printable_secrets_never_survive_in_text(secret, scheme):
    """Secrets of arbitrary printable characters (quotes, brackets, separators, non-ASCII)
    planted in header lines, free text, query strings, reprs, JSON and URLs never survive."""
    assume(secret not in scheme)
    assert _text_leaks(R, secret, scheme) == []


def test_printable_property_fails_with_redaction_off():
    """Companion: with the engine off, the secret survives in every shape."""
    assert len(_text_leaks(_Off(), "Zq9a'b\"c(d", "Bearer")) == 14


def test_secrets_split_across_name_and_value_keys():
    """{"Name": "DB_PASSWORD", "Value": ...}, an SSM GetParameter response, {"name": "password",
    "value": ...}: the name says the value is secret, so the value is hidden; other pairs stay."""
    data = {
        "Environment": [{"Name": "DB_PASSWORD", "Value": "X1"}, {"Name": "REGION", "Value": "eu-west-1"}],
        "ssm": {"Parameter": {"Name": "/app/db_password", "Type": "SecureString", "Value": "X1"}},
        "fields": [{"name": "password", "value": "X1"}, {"key": "api_key", "value": "X1"}],
        "cfn": [{"ParameterKey": "DbSecret", "ParameterValue": "X1"}],
    }
    out = R(data)
    assert "X1" not in json.dumps(out)
    assert out["Environment"][1] == {"Name": "REGION", "Value": "eu-west-1"}
    assert out["ssm"]["Parameter"]["Name"] == "/app/db_password"


def test_base64_bodies_are_decoded_and_redacted():
    """An event (or a response) with isBase64Encoded and a base64 form or JSON body holding a
    secret: the logged copy carries the decoded body with the secret hidden; a body with
    nothing to hide, or one that is not text, is kept as it is."""
    import base64

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    form = R({"isBase64Encoded": True, "body": b64(b"user=ann&password=X1")})
    assert form == {"isBase64Encoded": False, "body": f"user=ann&password={REDACTED}"}
    doc = R({"statusCode": 200, "isBase64Encoded": True, "body": b64(json.dumps({"token": "X1", "n": 1}).encode())})
    assert json.loads(doc["body"]) == {"token": REDACTED, "n": 1} and doc["isBase64Encoded"] is False
    for body in (b64(b"hello"), b64(bytes(range(256)))):
        assert R({"isBase64Encoded": True, "body": body}) == {"isBase64Encoded": True, "body": body}


def test_database_driver_errors_lose_their_quoted_literals():
    """An error raised by a database driver (sqlite3 here) quotes values back: in error_text the
    literals are replaced; an ordinary exception's text is only redacted."""
    import sqlite3

    text = "invalid input syntax for type oid: \"X1\"\nLINE 1: SELECT 'X1'::oid, 'it''s'"
    hidden = R.error_text(sqlite3.OperationalError(), text)
    assert hidden == "invalid input syntax for type oid: \"?\"\nLINE 1: SELECT '?'::oid, '?'"
    assert R.error_text(ValueError(), text) == text


_KEYS = st.sampled_from(
    ["n", "order_id", "password", "Name", "name", "Value", "value", "key", "token", "PWD", "pwd", "isBase64Encoded"]
) | st.text(max_size=12)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.sampled_from(["/var/task", "token=abc", "DB_PASSWORD", '{"password": "x"}', "user:pw@host"])
    | st.text(max_size=30)
)
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3))


@given(st.dictionaries(_KEYS | st.integers(), _VALUES, max_size=6) | _VALUES)
def test_clean_is_the_general_path(data: Any) -> None:
    """``clean`` (the one-pass path for flat extras and responses) gives exactly what the general
    path gives: a JSON-safe copy, redacted (so its fast path cannot skip a secret)."""
    engine = Redactor()
    assert engine.clean(data) == engine(_json.safe(data))
