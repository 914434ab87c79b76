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


def test_each_path_loads_its_own_module(tmp_path, monkeypatch):
    """'lb/app.py:handler' after 'la/app.py:handler' (same file name, two directories) gives lb's
    handler, and loading la again gives la's: a module name already taken is not reused."""
    for name in ("la", "lb"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "app.py").write_text(f"def handler(e, c):\n    return {name!r}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.path", list(__import__("sys").path))
    import sys

    saved = {k: v for k, v in sys.modules.items() if k == "app" or k.startswith("app_")}
    try:
        assert load_handler("la/app.py:handler")({}, None) == "la"
        assert load_handler("lb/app.py:handler")({}, None) == "lb"
        assert load_handler(str(tmp_path / "la" / "app.py") + ":handler")({}, None) == "la"
        assert load_handler("lb/app.py:handler")({}, None) == "lb"
    finally:
        for key in [k for k in sys.modules if (k == "app" or k.startswith("app_")) and k not in saved]:
            del sys.modules[key]
