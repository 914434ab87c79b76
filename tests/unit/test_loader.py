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


@pytest.fixture
def clean_modules(monkeypatch):
    """sys.path and sys.modules as they were, after the test (the loader adds to both)."""
    import sys

    monkeypatch.setattr("sys.path", list(sys.path))
    before = set(sys.modules)
    yield
    for key in set(sys.modules) - before:
        del sys.modules[key]


def test_a_file_inside_a_package_keeps_its_relative_imports(tmp_path, monkeypatch, clean_modules):
    """'pkg2/sub/app.py:handler' (packages with __init__.py) is imported as pkg2.sub.app, so its
    'from . import util' works as it does with the dotted form."""
    sub = tmp_path / "pkg2" / "sub"
    sub.mkdir(parents=True)
    (tmp_path / "pkg2" / "__init__.py").write_text("")
    (sub / "__init__.py").write_text("")
    (sub / "util.py").write_text("WHO = 'util of pkg2.sub'\n")
    (sub / "app.py").write_text("from . import util\n\ndef handler(e, c):\n    return util.WHO\n")
    monkeypatch.chdir(tmp_path)
    assert load_handler("pkg2/sub/app.py:handler")({}, None) == "util of pkg2.sub"
    assert load_handler(str(sub / "app.py") + ":handler")({}, None) == "util of pkg2.sub"
    import sys

    assert sys.modules["pkg2.sub.app"].__file__ == str((sub / "app.py").resolve())


@pytest.mark.parametrize("spec", ["payments.handler", "payments.py:handler"])
def test_a_missing_dependency_is_named_not_the_handler_module(tmp_path, monkeypatch, clean_modules, spec):
    """payments.py exists but imports 'pay', which does not: the error names 'pay', and does not
    claim that the module 'payments' was not found."""
    (tmp_path / "payments.py").write_text("import pay\n\ndef handler(e, c):\n    return 1\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(HandlerNotFoundError) as caught:
        load_handler(spec, root=str(tmp_path), source="LAMBDA_OBSERVE_HANDLER")
    text = str(caught.value)
    assert "'pay'" in text and "was not found under" not in text, text
    assert "LAMBDA_OBSERVE_HANDLER" in text
    assert isinstance(caught.value.__cause__, ModuleNotFoundError) and caught.value.__cause__.name == "pay"
