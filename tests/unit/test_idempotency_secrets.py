"""Store credentials: whatever characters a password or token holds (``/ @ : # ? % &``, spaces...),
it is in no repr, no message, no refusal and no exception chain, for every store URL form."""

from __future__ import annotations

import string
import traceback
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from lambda_observe import idempotent
from lambda_observe.idempotency import DynamoDBStore, IdempotencyError, RedisStore, StoreError, _secrets

PRINTABLE = st.characters(min_codepoint=32, max_codepoint=126)  # the printable ASCII range, space included
# A canary no message would hold by chance: a leak of the password, or of any piece of it that holds the canary.
canaries = st.text(alphabet=string.ascii_letters + string.digits, min_size=6, max_size=10).map(lambda s: f"Qz{s}")


@st.composite
def passwords(draw: Any) -> tuple[str, str]:
    """(password, canary): the canary somewhere inside printable text with every awkward character."""
    canary = draw(canaries)
    around = st.text(alphabet=PRINTABLE, max_size=8) | st.sampled_from(["/", "@", ":", "#", "?", "%", "&", " ", "/x@"])
    return draw(around) + canary + draw(around), canary


FORMS = [
    "redis://default:{pw}@127.0.0.1:6390/0",
    "redis://:{pw}@127.0.0.1:6390/0",
    "rediss://{pw}@127.0.0.1:6390/0",  # a token in the user name
    "redis://{pw}:x@127.0.0.1:6390/0",  # a token in the user name, with a password
    "unix://:{pw}@/tmp/redis.sock?db=0",
    "redis://127.0.0.1:6390/0?password={pw}",
    "dynamodb://t?region=us-east-1&endpoint=http://u:{pw}@127.0.0.1:1/",
    "dynamodb://t?region=us-east-1&endpoint=http://{pw}@127.0.0.1:1/",
]


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything reachable through __cause__ and __context__."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        todo += [current.__cause__, current.__context__]
    return seen


def _texts_of(exc: BaseException) -> str:
    chain = _chain(exc)
    return "\n".join(
        [str(exc), repr(exc), "".join(traceback.format_exception(exc))] + [f"{e!r} {e.args!r}" for e in chain]
    )


def _what_a_user_sees(url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Every text the library makes from ``url`` without a network: decoration (accepted or refused),
    the store's repr and name, the client made from it, and a StoreError quoting the URL as a client would."""
    seen: dict[str, str] = {"safe_url": _secrets.safe_url(url)}
    try:
        fn = idempotent(key="id", store=url)(lambda e, c: 1)
    except (IdempotencyError, ValueError) as exc:
        seen["refused"] = _texts_of(exc)
        return seen
    store = fn.idempotency._store
    seen["repr"] = repr(store) + " " + str(store.name) + " " + repr(vars(fn.idempotency).get("identity"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    try:  # the client is made without connecting: redis-py parses the URL, botocore the endpoint
        store._redis() if isinstance(store, RedisStore) else store._dynamodb()
    except StoreError as exc:
        seen["client"] = _texts_of(exc)
    secrets = getattr(store, "_secrets", ())
    endpoint = getattr(store, "_endpoint_url", None) or url
    quoted = StoreError(
        store.name, f'EndpointConnectionError: Could not connect to the endpoint URL: "{endpoint}"', secrets
    )
    seen["quoted"] = _texts_of(quoted)
    return seen


@given(secret=passwords(), form=st.sampled_from(FORMS))
@example(secret=("][Qz000000", "Qz000000"), form="redis://default:{pw}@127.0.0.1:6390/0")  # urlsplit quoted the host
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_password_survives_any_store_url(monkeypatch, secret, form):
    """Hypothesis: a password (or token) drawn from all of printable ASCII, '/ @ : # ? % &' and spaces
    included, in each store URL form: neither it nor its canary core is in any text a user can see."""
    password, canary = secret
    url = form.format(pw=password)
    seen = _what_a_user_sees(url, monkeypatch)
    leaked = {where: text for where, text in seen.items() if canary in text}
    assert leaked == {}, f"{url!r} leaked through {sorted(leaked)}"


def test_companion_fails_with_the_scrubbing_off(monkeypatch):
    """Companion: with the Redis store's URL scrubbing switched off, the property finds a leak."""
    from lambda_observe.idempotency.stores import redis as redis_store

    monkeypatch.setattr(redis_store, "safe_url", lambda url: url)
    probe = settings(
        max_examples=50,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )

    def redis_only(secret: tuple[str, str], form: str) -> None:
        password, canary = secret
        store = RedisStore(form.format(pw=password))
        assert canary not in repr(store) + store.name, "leaked"

    with pytest.raises(AssertionError, match="leaked"):
        given(secret=passwords(), form=st.sampled_from(FORMS[:3]))(probe(redis_only))()


@pytest.mark.parametrize(
    "url",
    [
        "redis://:abc/defQzSECRET@127.0.0.1:6390/0",
        "redis://default:pa/ss/QzSECRET@127.0.0.1:6390/0",
        "redis://QzSECRETTOKEN@127.0.0.1:6390/0",
        "redis://:ab#QzSECRET@127.0.0.1:6390/0",
        "redis://:ab?QzSECRET@127.0.0.1:6390/0",
        "dynamodb://t?region=us-east-1&endpoint=http://u:ab/cdQzSECRET@127.0.0.1:1/",
        "dynamodb://t?region=us-east-1&endpoint=http://u:x&QzSECRET=y@127.0.0.1:1/",
    ],
)
def test_the_reported_urls(monkeypatch, url):
    """The tester's URLs: an unencoded '/', '#', '?' or '&' in the password, a token as the user name."""
    seen = _what_a_user_sees(url, monkeypatch)
    leaked = sorted(where for where, text in seen.items() if "QzSECRET" in text)
    assert leaked == [], f"{url!r} leaked through {leaked}"


def test_store_objects_show_no_user_info():
    """A store URL's user info is shown as '***@' whole, user names included (they can be tokens)."""
    assert RedisStore("redis://default:pw@h:6379/0").name == "redis://***@h:6379/0"
    assert RedisStore("redis://tok@h:6379/0").url == "redis://***@h:6379/0"
    assert RedisStore("redis://h:6379/0").name == "redis://h:6379/0"
    store = DynamoDBStore("t", endpoint_url="http://u:p%2Fq@127.0.0.1:1/")
    assert store.endpoint_url == "http://***@127.0.0.1:1/"
    assert "p%2Fq" not in repr(store) and "u:" not in repr(store)


@pytest.mark.parametrize(
    "url", ["redis://:p/q@h:1/0", "redis://:p?q@h:1/0", "redis://:p#q@h:1/0", "unix://:a/b@/tmp/s"]
)
def test_user_info_a_client_would_misread_is_refused(url):
    """An unencoded '/', '?' or '#' in a password makes redis-py (urlsplit) read a piece of it as the
    port or path: refused when the store is made, with ConfigError saying to percent-encode it."""
    from lambda_observe.idempotency import ConfigError

    with pytest.raises(ConfigError, match="percent-encoded") as caught:
        RedisStore(url)
    assert "p/q" not in str(caught.value) and "://***" in str(caught.value)
    with pytest.raises(ConfigError, match="percent-encoded"):
        DynamoDBStore("t", endpoint_url=url.replace("redis://", "http://"))


def test_secrets_of_takes_the_userinfo_to_the_last_at():
    """The user info of a store URL runs from the scheme to the last '@': the whole of it, its user
    name and its password are secrets, in raw and percent-encoded forms."""
    found = _secrets.secrets_of("redis://us er:a/b@c@host:1/0")
    assert {"us er:a/b@c", "us er", "a/b@c", "us%20er", "a%2Fb%40c"} <= set(found)
    text = "AuthenticationError: user 'us er' with password a/b@c at redis://us er:a/b@c@host:1/0"
    cleaned = _secrets.clean(text, found)
    # The redaction engine hides free text after "password" to the end of the line (more than the
    # URL's own display would), so only the absence of the secrets and the kept prefix are checked.
    assert "us er" not in cleaned and "a/b" not in cleaned and cleaned.startswith("AuthenticationError:")
