"""The text half of :mod:`lambda_observe.redact`: finding secrets inside free text, in linear time.

Every scan here is linear in the length of the text, whatever the text: regular expressions have
no nested unbounded quantifiers over overlapping classes, and each hand-written scan either moves
forward or jumps past what it has read. (The old engine's ``scheme://user:password@`` expression
backtracked: 62 s on 100 KB of ``a`` followed by ``://u:p x@y``.)

The rules (docs/redaction.md says the same for users):

* user info: in every run of non-space characters, for each ``scheme://``, the authority runs to
  the first ``/``, ``?`` or ``#``; the user info is everything before its LAST ``@`` (Azure user
  names hold an ``@``). The password (after the first ``:``) is hidden; with no password, a
  bare user name over http(s)/git is a token and is hidden whole. When the authority has a
  ``:`` followed by something other than a port and no ``@``, the password holds an unescaped
  ``/``, ``?`` or ``#``: everything to the last ``@`` of the run is hidden. Without a scheme,
  ``user:password@host`` (the last ``@`` of the run) is read the same way.
* values after a secret name: quoted (``"..."``, ``'...'``, ``\\"...\\"``, with ``b``/``r``/``u``
  prefixes) to the closing quote; bracketed (``(``, ``[``, ``{``) to the balanced close; both
  to the end of the line when unclosed. Unquoted after ``?`` or ``&``: to ``&``, ``#``,
  whitespace or a quote. Unquoted elsewhere: to the end of the line, or to whitespace followed
  by ``word=``. ``Authorization`` and ``Cookie`` values: to the end of the line.
"""

from __future__ import annotations

import re
from collections.abc import Callable

REDACTED = "***REDACTED***"

_RUN = re.compile(r"\S+")
_AUTHORITY_END = re.compile(r"[/?#]")
_SCHEME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
#: Schemes whose bare user name (no password) is a credential: ``https://<token>@github.com/...``.
_BARE_USER_SCHEMES = frozenset({"http", "https", "git", "git+http", "git+https", "ftp", "ftps"})
_NOT_USERS = frozenset({"git", "anonymous"})
_DSN_START = re.compile(r"""[=("'<\[{,;]""")
_NOT_DSN = frozenset({"mailto", "sip", "sips", "tel", "xmpp"})


def userinfo(text: str) -> str:
    """``text`` with the passwords (and token user names) of URLs and DSNs hidden."""
    parts: list[str] = []
    pos = 0
    for run in _RUN.finditer(text):
        start, end = run.span()
        last = text.rfind("@", start, end)
        if last < 0:
            continue
        spans = list(_userinfo_spans(text, start, end, last))
        for hide_from, hide_to in spans:
            parts.append(text[pos:hide_from])
            parts.append(REDACTED)
            pos = hide_to
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)


def _userinfo_spans(text: str, start: int, end: int, last: int) -> list[tuple[int, int]]:
    """The spans to hide in the run ``text[start:end]`` whose last ``@`` is at ``last``."""
    spans: list[tuple[int, int]] = []
    i = start
    found_scheme = False
    while i < last:
        j = text.find("://", i, last)
        if j < 0:
            break
        found_scheme = True
        a = j + 3
        m = _AUTHORITY_END.search(text, a, end)
        e = m.start() if m else end
        at = text.rfind("@", a, e)
        if at < 0:
            colon = text.find(":", a, e)
            port = text[colon + 1 : e]
            if colon < 0 or e >= last or port.isdigit() or not port:
                i = e if e > i else i + 1
                continue
            at = last  # a password with an unescaped '/', '?' or '#': hide up to the last '@'
        colon = text.find(":", a, at)
        if colon >= 0:
            spans.append((colon + 1, at))
        else:
            k = j
            while k > start and j - k < 32 and text[k - 1] in _SCHEME:
                k -= 1
            scheme = text[k:j].lower()
            if scheme in _BARE_USER_SCHEMES and text[a:at].lower() not in _NOT_USERS and at > a:
                spans.append((a, at))
        i = at + 1
    if not found_scheme:
        m_start = start
        for d in _DSN_START.finditer(text, start, last):  # the DSN starts after the last delimiter
            m_start = d.end()
        colon = text.find(":", m_start, last)
        if colon > m_start and text[m_start:colon].lower() not in _NOT_DSN and colon + 1 < last:
            spans.append((colon + 1, last))
    return spans


# A name (not in the middle of a word) and its separator (``=``, ``:``, full-width U+FF1D).
KEY = re.compile(r"""(?<![\w.\-])(?P<key>[A-Za-z_][\w.\-]*)(?P<sep>\\?["']?[ \t]*[=:\uff1d][ \t]*)""")
_LINE_END = re.compile(r"[\r\n]")
_QUERY_VALUE_END = re.compile(r"""[&#\s"'<>\\]""")
_NEXT_PAIR = re.compile(r"""[ \t][A-Za-z_][\w.\-]*[=\uff1d]""")
_GROUP = re.compile(r"""[()\[\]{}"'\\\r\n]""")
_QUOTED = {q: re.compile(rf"(?:[^{q}\\\r\n]|\\.)*{q}") for q in "\"'"}
_PREFIXES = frozenset("bBrRuUfF")


def _line_end(text: str, start: int) -> int:
    m = _LINE_END.search(text, start)
    return m.start() if m else len(text)


def _group_end(text: str, start: int) -> int:
    """The end of the balanced bracket group at ``start`` (quotes respected), else the line's end."""
    depth = 0
    quote = ""
    skip = -1
    for m in _GROUP.finditer(text, start):
        i = m.start()
        if i == skip:
            continue
        c = m[0]
        if c in "\r\n":
            return i
        if quote:
            if c == "\\":
                skip = i + 1
            elif c == quote:
                quote = ""
            continue
        if c in "\"'":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth <= 0:
                return i + 1
    return len(text)


def value_span(text: str, start: int, query: bool, to_line_end: bool) -> tuple[int, int, str] | None:
    """Where the value starting at ``start`` ends: (hide from, hide to, quote kept around the marker).

    A quoted or bracketed value followed by more of the same word (``"ab"cd``, ``(x)y``) is not
    what it looked like: outside a query string it is read as unquoted text instead.
    """
    span = _value_span(text, start, query, to_line_end)
    if (
        span is not None
        and not query
        and span[1] < len(text)
        and (span[2] or text[span[0]] in "([{")
        and text[span[1]] not in " \t\r\n,;&)]}>"
    ):
        return (start, _line_end(text, start), "") if to_line_end else _unquoted(text, start)
    return span


def _unquoted(text: str, start: int) -> tuple[int, int, str] | None:
    line_end = _line_end(text, start)
    m = _NEXT_PAIR.search(text, start, line_end)
    end = m.start() if m else line_end
    while end > start and text[end - 1] in " \t":
        end -= 1
    return (start, end, "") if end > start else None


def _value_span(text: str, start: int, query: bool, to_line_end: bool) -> tuple[int, int, str] | None:
    n = len(text)
    if start >= n or text[start] in "\r\n":
        return None
    c = text[start]
    if c in _PREFIXES and start + 1 < n and text[start + 1] in "\"'":  # b'...', r"..."
        start += 1
        c = text[start]
    if c == "\\" and text.startswith('\\"', start):  # JSON escaped inside a string
        close = text.find('\\"', start + 2, _line_end(text, start))
        if close < 0:
            return start, _line_end(text, start), ""
        return start, close + 2, '\\"'
    if c in "\"'":
        m = _QUOTED[c].match(text, start + 1)
        if m is None:
            return start, _line_end(text, start), ""
        return start, m.end(), c
    if c in "([{":
        return start, _group_end(text, start), ""
    if to_line_end:
        return start, _line_end(text, start), ""
    if query:
        m = _QUERY_VALUE_END.search(text, start)
        end = m.start() if m else n
        return (start, end, "") if end > start else None
    return _unquoted(text, start)


def pairs(text: str, kind: Callable[[str], int], exempt: Callable[[str, str], bool]) -> str:
    """``text`` with the values of secret ``name=value`` / ``name: value`` pairs hidden.

    ``kind(name)``: 0 not secret, 1 secret only as a query/form name, 2 secret everywhere.
    ``exempt(name, value)``: a secret name whose value shows it holds none (``PWD=/var/task``).
    """
    parts: list[str] = []
    pos = 0
    search = KEY.search
    m = search(text, 0)
    while m is not None:
        key = m["key"]
        start = m.start()
        k = kind(key)
        query = start > 0 and text[start - 1] in "?&"
        if k == 1 and (m["sep"] not in ("=", "\uff1d") or not (start == 0 or text[start - 1] in "?&;")):
            k = 0
        if k == 2 and start > 0 and text[start - 1] == ":" and m["sep"][:1] == ":":
            k = 0  # a segment of an ARN or a colon-separated path: arn:aws:secretsmanager:...:secret:db
        if k == 0:
            m = search(text, m.end())
            continue
        lowered = key.lower()
        whole_line = "cookie" in lowered or "authori" in lowered
        span = value_span(text, m.end(), query or (start == 0 and k == 1), whole_line and not query)
        if span is None or exempt(key, text[span[0] : span[1]]):
            m = search(text, m.end())
            continue
        begin, end, quote = span
        parts.append(text[pos:begin])
        parts.append(f"{quote}{REDACTED}{quote}")
        pos = end
        m = search(text, max(end, m.end()))
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)


# Other shapes a named secret takes in text: an XML element, a command-line option, SQL that sets a
# password, and mysql's ``-pPASSWORD``.
_FORMS = re.compile(
    r"""<(?P<tag>[A-Za-z_][\w.\-:]*)(?:[ \t][^<>\r\n]*)?>"""
    r"""|(?<![\w\-])(?:--?(?P<opt>[A-Za-z][\w\-]*)(?:=|[ \t]+)"""
    r"""|(?P<sql>(?i:password|identified[ \t]+by(?:[ \t]+password)?))[ \t]+(?=["']))"""
)
_XML_VALUE_END = re.compile(r"[<\r\n]")
_ARG_END = re.compile(r"\s")


def forms(text: str, kind: Callable[[str], int], mysql: bool) -> str:
    """``text`` with secret XML element contents, option values and SQL passwords hidden."""
    parts: list[str] = []
    pos = 0
    m = _FORMS.search(text, 0)
    while m is not None:
        start = m.end()
        span: tuple[int, int, str] | None = None
        if m["tag"] is not None:
            if kind(m["tag"].rsplit(":", 1)[-1]) == 2:
                e = _XML_VALUE_END.search(text, start)
                end = e.start() if e else len(text)
                span = (start, end, "") if end > start else None
        elif m["opt"] is not None:
            opt = m["opt"]
            if mysql and opt[:1] == "p" and len(opt) > 1 and m[0][1] != "-" and kind(opt) != 2:
                e = _ARG_END.search(text, m.start() + 2)  # mysql -pPASSWORD
                span = (m.start() + 2, e.start() if e else len(text), "")
            elif kind(opt) == 2:
                span = value_span(text, start, False, False)
                if span is not None and not span[2] and text[start] not in "([{":
                    e = _ARG_END.search(text, start)
                    span = (start, e.start() if e else len(text), "")
        elif m["sql"] is not None:
            span = value_span(text, start, False, False)
        if span is None or span[1] <= span[0]:
            m = _FORMS.search(text, m.end() if m.end() > m.start() else m.start() + 1)
            continue
        begin, end, quote = span
        parts.append(text[pos:begin])
        parts.append(f"{quote}{REDACTED}{quote}")
        pos = end
        m = _FORMS.search(text, end)
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)


_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


def encoded(text: str, scan: Callable[[str], str]) -> str:
    """``text`` where each run of non-space characters holding percent-escapes is decoded (twice at
    most) and scanned; a run in which the scan hides something is replaced by its decoded,
    redacted form (``redirect_uri=https%3A%2F%2Fx%2Fcb%3Faccess_token%3D...``)."""
    from urllib.parse import unquote

    parts: list[str] = []
    pos = 0
    for m in _RUN.finditer(text):
        run = m[0]
        if "%" not in run or _ESCAPE.search(run) is None:
            continue
        decoded = run
        for _ in range(2):
            again = unquote(decoded)
            if again == decoded:
                break
            decoded = again
            hidden = scan(decoded)
            if hidden != decoded:
                parts.append(text[pos : m.start()])
                parts.append(hidden)
                pos = m.end()
                break
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)


_LITERAL = re.compile(r"""'(?:[^'\r\n]|'')*'|"(?:[^"\r\n]|"")*\"""")


def sql_literals(text: str) -> str:
    """``text`` with every quoted SQL literal (``'...'`` or ``"..."``) replaced by ``'?'``."""
    if "'" not in text and '"' not in text:
        return text
    return _LITERAL.sub(lambda m: f"{m[0][0]}?{m[0][0]}", text)


#: The largest base64 body decoded for redaction (characters).
MAX_DECODED_BODY = 1_000_000


def decoded_body(body: str) -> str | None:
    """A base64 body's text (UTF-8), or None when it is too large, not base64, or not text."""
    import base64
    import binascii

    if len(body) > MAX_DECODED_BODY:
        return None
    try:
        return base64.b64decode(body, validate=False).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
