"""One redaction engine for everything that leaves the process.

Log lines (messages, extras, bound keys, exception text and tracebacks), the logged event, and
trace documents (exception causes, metadata, HTTP URLs, SQL connection strings) all go through
:class:`Redactor`. It hides secrets in two ways:

* **by key**: the value of a key that looks secret (:data:`DEFAULT_PATTERNS`, plus your own
  patterns) is replaced with :data:`REDACTED`, at any depth of dicts and lists, and inside
  strings that hold a JSON document (API Gateway bodies). Names in a query string or a
  form-encoded body are also checked against :data:`QUERY_PATTERNS` (``key``, ``sig``...), which
  would be too broad for ordinary keys.
* **in text**: in any string, ``name=value`` and ``"name": "value"`` pairs whose name looks secret
  (query strings, form bodies, ``key=value`` connection strings, JSON or Python reprs inside an
  exception message), the password of ``scheme://user:password@host`` URLs and DSNs, and the
  credentials after ``Bearer``/``Basic`` in a ``name: value`` header line.

Text is only scanned when it can hold a secret: a string with neither ``=`` nor ``:`` is
returned after two character searches; one with a separator but no secret-looking word (``pass``,
``token``, ``key``, ``auth``, ...; your patterns too) and no ``scheme://user:...@`` after one more
search of its lower-cased copy. Only the rest goes through the full scan.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from . import _json, config
from . import _redact_text as _text

__all__ = ["DEFAULT_PATTERNS", "QUERY_PATTERNS", "REDACTED", "Redactor", "configure", "get", "reset"]

#: What a hidden value is replaced with.
REDACTED = _text.REDACTED

_S = r"(?:^|[-_.\s])"  # the start of a word in a key (keys are lower-cased, camelCase split)
_E = r"(?:$|[-_.\s])"  # the end of a word in a key
#: Key patterns (regular expressions, searched in the lower-cased key, with camelCase split by ``_``).
DEFAULT_PATTERNS: tuple[str, ...] = (
    r"authori[sz]ation",  # Authorization, Proxy-Authorization
    r"cookie",  # Cookie, Set-Cookie, cookies (HTTP API v2)
    r"password|passwd|passphrase|pwd",
    rf"{_S}pass{_E}",  # db_pass, SMTP_PASS (not passenger, bypass)
    r"secret",
    r"token",  # access_token, X-Amz-Security-Token, x-csrf-token
    r"api[-_.]?key",
    r"access[-_.]?key",  # aws_access_key_id, accessKey
    r"private[-_.]?key",
    r"credential",  # X-Amz-Credential
    r"signature",  # X-Amz-Signature
    rf"{_S}sig{_E}",
    rf"{_S}auth{_E}",  # X-Auth, x-auth-key
    r"jwt",
    r"session[-_.]?(?:id|key)",
    r"^authorizer$",  # API Gateway: the authorizer's claims, context and tokens
    r"identity[-_.]?source",  # API Gateway: a copy of the authorizer's token
    r"authentication",  # X-Authentication
    r"xauth",  # XAuth
    r"pgpass",  # PGPASS
    rf"{_S}pw{_E}",  # db_pw
    rf"{_S}otp{_E}",  # otp, totp codes as a field
    r"hmac",  # X-Shopify-Hmac-Sha256
    r"subscription[-_.]?key",  # Ocp-Apim-Subscription-Key (Azure API Management)
    r"functions?[-_.]?key",  # x-functions-key (Azure Functions)
    r"account[-_.]?key",  # AccountKey= in Azure storage connection strings
)
#: Extra patterns for the names of query-string parameters and form fields only.
QUERY_PATTERNS: tuple[str, ...] = (r"^key$", r"^sig$", r"^code$", r"^auth$")

#: Keys that name what a sibling key holds: ``{"Name": "DB_PASSWORD", "Value": "..."}``.
_NAME_KEYS = frozenset(
    {"name", "Name", "key", "Key", "ParameterKey", "ParameterName"}
    # ``extra={"name": ..., "value": ...}`` in a log call: ``name`` is a LogRecord attribute, so the
    # line carries it as ``extra_name`` (see lambda_observe.logs); the rule must still see it.
    | {"extra_name", "extra_Name", "extra_key", "extra_Key"}
)
_VALUE_KEYS = frozenset({"value", "Value", "ParameterValue", "SecretString", "SecretBinary"})
#: Modules of database drivers: their error messages quote the statement's values.
_DRIVERS = ("psycopg", "psycopg2", "pymysql", "mysql.connector", "MySQLdb", "pg8000", "sqlite3", "asyncpg", "oracledb")
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_QUERY_CONTAINER = re.compile(r"querystring", re.IGNORECASE)
# Names that match a pattern but hold no secret (lower case, camelCase split): token counts of
# language-model APIs, pagination tokens, the names of secrets and of signing schemes.
_NOT_SECRET = re.compile(
    r"(?:(?:input|output|max|min|total|prompt|completion|num|reasoning|cache_read_input|cache_creation_input)_)?tokens"
    r"|next_token|secret_id|secret_arn|secret_name|auth_type|signature_version|signature_method"
)
# Every default and query pattern matches a key containing one of these words (lower case): a
# text with none of them (and no URL user info) holds no secret pair, and is not scanned further.
_WORDS = re.compile(
    r"pass|pw|secret|token|key|cred|sig|auth|cookie|jwt|session|identity|code|otp|hmac|identified|mysql|mariadb"
)


class Redactor:
    """Hides secrets in data (:meth:`__call__`) and in text (:meth:`text`); never raises.

    ``extra`` adds key patterns (regular expressions, searched case-insensitively in the key as
    it is); a bad pattern raises :class:`ValueError` naming it.
    """

    def __init__(self, extra: Iterable[str] = ()) -> None:
        extra = tuple(p for p in extra if p)
        self.extra = extra
        default = re.compile("|".join(f"(?:{p})" for p in DEFAULT_PATTERNS))
        query = re.compile("|".join(f"(?:{p})" for p in QUERY_PATTERNS))
        try:
            user = re.compile("|".join(f"(?:{p})" for p in extra), re.IGNORECASE) if extra else None
        except re.error as exc:
            raise ValueError(f"redaction pattern is not a valid regular expression: {exc} (in {extra!r})") from None
        self._default = default.search
        self._query = query.search
        self._user = user.search if user is not None else None
        self._user_words = _loose(extra)
        self._keys: dict[str, int] = {}

    def _kind(self, key: str) -> int:
        """0: not secret; 1: secret as a query/form name only; 2: secret everywhere (memoized)."""
        kind = self._keys.get(key)
        if kind is None:
            lowered = _CAMEL.sub(r"\1_\2", key).lower()
            if self._user is not None and self._user(key):
                kind = 2
            elif self._default(lowered):
                kind = 0 if _NOT_SECRET.fullmatch(lowered) else 2
            elif self._query(lowered):
                kind = 1
            else:
                kind = 0
            if len(self._keys) < 8192:
                self._keys[key] = kind
        return kind

    def secret(self, key: object, query: bool = False) -> bool:
        """Does ``key`` name a secret? ``query``: it is a query-string or form field name."""
        return isinstance(key, str) and self._kind(key) > (0 if query else 1)

    def text(self, text: str) -> str:
        """``text`` with secret ``name=value`` pairs, URL passwords and bearer tokens hidden."""
        if (
            "=" not in text
            and ":" not in text
            and "-" not in text
            and "'" not in text
            and '"' not in text
            and "%" not in text
            and "<" not in text
            and "\uff1d" not in text
        ):
            return text
        try:
            if "@" in text:
                text = _text.userinfo(text)
            lowered = text.lower()
            if _WORDS.search(lowered) is None and (self._user_words is None or not self._user_words(text)):
                return text
            text = _text.pairs(text, self._kind, _exempt)
            text = _text.forms(text, self._kind, "mysql" in lowered or "mariadb" in lowered)
            if "%" in text:
                text = _text.encoded(text, self._encoded)
            return text
        except Exception:  # never let redaction break what it protects
            return REDACTED

    def error_text(self, exc: BaseException, text: str) -> str:
        """``text`` (the message or traceback of ``exc``) with secrets hidden; for a database
        driver's error, every quoted literal is replaced too (drivers quote parameter values)."""
        return self.text(_text.sql_literals(text) if from_driver(exc) else text)

    def sql_error(self, text: str) -> str:
        """The message of an error from a database call: quoted literals replaced, secrets hidden."""
        return self.text(_text.sql_literals(text))

    def _encoded(self, decoded: str) -> str:
        """The text scan of a decoded run, without decoding again (see ``_redact_text.encoded``)."""
        if "@" in decoded:
            decoded = _text.userinfo(decoded)
        decoded = _text.pairs(decoded, self._kind, _exempt)
        return _text.forms(decoded, self._kind, False)

    def clean(self, data: Any) -> Any:
        """``self(_json.safe(data))``: a JSON-safe copy of ``data`` with secrets hidden.

        The usual log ``extra`` or handler response, a flat dict of strings, ints, bools and
        ``None`` under ordinary keys, takes one pass; anything else takes the general path.
        """
        if type(data) is dict and _NAME_KEYS.isdisjoint(data) and "isBase64Encoded" not in data:
            out: dict[str, Any] = {}
            known = self._keys.get
            for key, value in data.items():
                kind = type(value)
                if type(key) is not str or not (kind is str or kind is int or kind is bool or value is None):
                    return self(_json.safe(data))
                secret = known(key)
                if secret is None:
                    secret = self._kind(key)
                if secret > 1 and not (kind is str and _exempt(key, value)):
                    out[key] = REDACTED
                elif kind is str:
                    try:
                        out[key] = self._string(value, 1)
                    except Exception:
                        return REDACTED
                else:
                    out[key] = value
            return out
        t = type(data)
        if t is int or t is bool or data is None:
            return data
        return self(_json.safe(data))

    def __call__(self, data: Any) -> Any:
        """A copy of ``data`` with secrets hidden (dicts, lists and tuples walked; strings scrubbed)."""
        try:
            return self._walk(data, 0, False, ())
        except Exception:  # a mapping that cannot be iterated, and the like: hide it all
            return REDACTED

    def _walk(self, data: Any, depth: int, query: bool, path: tuple[int, ...]) -> Any:
        if isinstance(data, str):
            return self._string(data, depth)
        if not isinstance(data, (dict, list, tuple, set, frozenset)):
            return data  # numbers, None, and objects the JSON renderers turn into text later
        if depth > 32:
            return "<too deep>"
        if id(data) in path:
            return "<circular reference>"
        path = (*path, id(data))
        if isinstance(data, dict):
            out: dict[Any, Any] = {}
            # {"Name": "DB_PASSWORD", "Value": "..."}: the name says the value is secret.
            named = any(isinstance(data.get(n), str) and self._kind(data[n]) == 2 for n in _NAME_KEYS if n in data)
            for k, v in data.items():
                if (
                    isinstance(k, str)
                    and (self._kind(k) > (0 if query else 1) or (named and k in _VALUE_KEYS))
                    and not (isinstance(v, str) and _exempt(k, v))
                ):
                    out[k] = REDACTED
                else:
                    inner = isinstance(k, str) and _QUERY_CONTAINER.search(k) is not None
                    out[k] = self._walk(v, depth + 1, inner, path)
            if data.get("isBase64Encoded") is True and isinstance(data.get("body"), str):
                body = _text.decoded_body(data["body"])
                if body is not None:
                    hidden = self._string(body, depth + 1)
                    if hidden != body:  # the logged copy carries the decoded body, secrets hidden
                        out["body"] = hidden
                        out["isBase64Encoded"] = False
            return out
        return [self._walk(v, depth + 1, query, path) for v in data]

    def _string(self, data: str, depth: int) -> str:
        if data[:1] in "{[" and len(data) < 1_000_000 and depth <= 32:
            try:  # an API Gateway body: a JSON document in a string
                parsed = json.loads(data)
            except (ValueError, RecursionError):  # not JSON, or nested past the parser's limit: text
                return self.text(data)
            if isinstance(parsed, (dict, list)):
                hidden = self._walk(parsed, depth + 1, False, ())
                return data if hidden == parsed else json.dumps(hidden, separators=(",", ":"))
        return self.text(data)


def _loose(patterns: tuple[str, ...]) -> Callable[[str], bool] | None:
    """A test for text that may hold a key matching ``patterns`` (anchors dropped); None: none given."""
    if not patterns:
        return None
    try:
        found = re.compile("|".join(f"(?:{p.lstrip('^').rstrip('$')})" for p in patterns), re.IGNORECASE).search
    except re.error:  # a pattern that needs its anchors: every text with a separator is scanned
        return lambda text: True
    return lambda text: found(text) is not None


def from_driver(exc: BaseException) -> bool:
    """Was ``exc`` raised by a database driver (its class, or a base, lives in a driver's module)?"""
    try:
        for cls in type(exc).__mro__:
            module = getattr(cls, "__module__", "") or ""
            if any(module == d or module.startswith(d + ".") for d in _DRIVERS):
                return True
    except Exception:
        return False
    return False


def _exempt(key: str, value: str) -> bool:
    """A secret-looking name whose value shows it is something else: ``PWD=/var/task`` (a directory)."""
    return key.lower() == "pwd" and value[:1] == "/"


class _Engine:
    extra: tuple[str, ...] = ()
    built: tuple[object, ...] | None = None
    engine: Redactor | None = None
    #: What the engine was last checked against (identity: the fast path of :func:`get`).
    config: object = None
    built_extra: tuple[str, ...] | None = None


def configure(extra: Iterable[str] = ()) -> None:
    """Add key patterns for the whole process (``setup_logging(redact=...)`` calls this)."""
    _Engine.extra = tuple(extra)


def get() -> Redactor:
    """The process's engine: the default patterns, ``LAMBDA_OBSERVE_REDACT_KEYS`` and :func:`configure`'s.

    Built again only when those patterns change.
    """
    cfg = config.get()
    engine = _Engine.engine
    if engine is not None and _Engine.config is cfg and _Engine.built_extra is _Engine.extra:
        return engine
    wanted = (cfg.redact_keys, _Engine.extra)
    _Engine.config, _Engine.built_extra = cfg, _Engine.extra
    if engine is None or _Engine.built != wanted:
        engine = _Engine.engine = Redactor((*wanted[0], *wanted[1]))
        _Engine.built = wanted
    return engine


def reset() -> None:
    """Forget the engine and the patterns added by :func:`configure` (tests)."""
    _Engine.extra = ()
    _Engine.built = _Engine.engine = None
    _Engine.config = _Engine.built_extra = None
