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

from lambda_observe import redact
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
