"""The post-import hook behind patch(): runs once, after the module's body, leaves the module
as the import system made it, and queues hooks that fire while another hook runs."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

from lambda_observe.tracing import _post_import


@pytest.fixture
def pkg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"lo_hooked_{tmp_path.name.replace('-', '_')}"
    root = tmp_path / name
    root.mkdir()
    (root / "__init__.py").write_text("VALUE = 1\n")
    (root / "sub.py").write_text(f"import {name}\nREADY = True\n")
    (root / "plain.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for mod in [m for m in sys.modules if m.startswith(name)]:
        del sys.modules[mod]


def test_hook_runs_once_after_the_body_and_the_loader_is_the_real_one(pkg: str):
    """The hook sees the finished module (its globals set); the module's loader and spec are the
    real ones; a second import runs nothing; the finder leaves sys.meta_path once done."""
    seen: list[ModuleType] = []
    _post_import.when_imported(f"{pkg}.sub", seen.append)
    module = importlib.import_module(f"{pkg}.sub")
    importlib.import_module(f"{pkg}.sub")
    assert seen == [module] and module.READY is True
    assert type(module.__loader__).__name__ == "SourceFileLoader"
    assert module.__spec__.loader is module.__loader__
    assert sys.modules[pkg].sub is module
    assert not [f for f in sys.meta_path if type(f) is _post_import._Finder]


def test_hook_for_a_module_already_imported_runs_now(pkg: str):
    """A module already in sys.modules is hooked at once."""
    module = importlib.import_module(pkg)
    seen: list[ModuleType] = []
    _post_import.when_imported(pkg, seen.append)
    assert seen == [module]


def test_a_hook_that_imports_a_watched_module_runs_it_after_itself(pkg: str):
    """While hook A runs, the module B watches is imported: B's hook runs after A finishes, not inside it."""
    order: list[str] = []

    def hook_a(module: ModuleType) -> None:
        order.append("a-start")
        importlib.import_module(f"{pkg}.sub")
        order.append("a-end")

    _post_import.when_imported(f"{pkg}.plain", hook_a)
    _post_import.when_imported(f"{pkg}.sub", lambda m: order.append("b"))
    importlib.import_module(f"{pkg}.plain")
    assert order == ["a-start", "a-end", "b"]


def test_a_module_another_thread_is_still_importing_is_waited_for(tmp_path, monkeypatch):
    """A hook registered while another thread is running the module's body (it is already in
    ``sys.modules``, half done): the hook runs once that import has finished and sees the whole
    module, instead of failing on a missing attribute."""
    import sys
    import threading
    import time

    from lambda_observe.tracing._post_import import when_imported

    (tmp_path / "slow_probe_mod.py").write_text(
        "import time\nSTARTED = True\ntime.sleep(0.5)\nclass BaseClient:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importer = threading.Thread(target=__import__, args=("slow_probe_mod",))
    importer.start()
    for _ in range(500):
        if "slow_probe_mod" in sys.modules:
            break
        time.sleep(0.005)
    assert "slow_probe_mod" in sys.modules and not hasattr(sys.modules["slow_probe_mod"], "BaseClient")
    seen: list[object] = []
    try:
        when_imported("slow_probe_mod", lambda module: seen.append(module.BaseClient))
    finally:
        importer.join()
        monkeypatch.delitem(sys.modules, "slow_probe_mod", raising=False)
    assert len(seen) == 1 and getattr(seen[0], "__name__", None) == "BaseClient"
