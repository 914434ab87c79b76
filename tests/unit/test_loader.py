"""Finding handlers from strings."""

from __future__ import annotations

import pytest

from lambda_observe._loader import HandlerNotFoundError, load_handler


@pytest.fixture
def tree(tmp_path, monkeypatch):
    pkg = tmp_path / "pkg" / "sub"
    pkg.mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "app.py").write_text("def handler(e, c):\n    return 'nested'\nvalue = 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("spec", ["pkg/sub/app.handler", "pkg.sub.app.handler"])
def test_nested_packages(tree, spec):
    """Slash and dot forms both find pkg/sub/app.py."""
    assert load_handler(spec, root=str(tree))({}, None) == "nested"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "is empty"),
        ("handler", "expected 'module.function'"),
        ("nope.handler", "module 'nope' was not found"),
        ("pkg.sub.app.missing", "has no attribute 'missing'"),
        ("pkg.sub.app.value", "is not callable"),
    ],
)
def test_bad_values_name_the_source(tree, spec, message):
    """Each bad value says what was wrong, naming the variable it came from."""
    with pytest.raises(HandlerNotFoundError, match=message) as caught:
        load_handler(spec, root=str(tree), source="LAMBDA_OBSERVE_HANDLER")
    if spec:
        assert "LAMBDA_OBSERVE_HANDLER" in str(caught.value)
