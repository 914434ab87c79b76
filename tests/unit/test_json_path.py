"""Which JSON path this test run uses: orjson, or the standard library with orjson hidden.

CI runs the suite twice on the main interpreter, once with ``LAMBDA_OBSERVE_TEST_NO_ORJSON=1``;
this test proves each run took the path it claims.
"""

from __future__ import annotations

from lambda_observe import _json
from lambda_observe.logs import _formatter
from tests.conftest import NO_ORJSON, need


def test_the_json_path_is_the_one_this_run_asked_for(monkeypatch):
    """Without the variable, orjson is used (the test extra installs it); with it, the standard
    library is. NaN tells them apart in the bytes: orjson writes null, the careful path a string."""
    monkeypatch.setattr(_json, "_FAST", [])
    fast = _json._fast()
    encoded = _json.dumps_bytes({"x": float("nan")})
    base = _formatter._base().__name__
    if NO_ORJSON:
        assert fast is None
        assert encoded == b'{"x":"nan"}'
        assert base == "JsonFormatter"
    else:
        need(fast is not None, "orjson is installed (it is in the test extra)")
        assert fast.__name__ == "orjson"
        assert encoded == b'{"x":null}'
        assert base == "OrjsonFormatter"
