"""Building the Lambda layer zip: ``lambda-observe layer build``.

The zip has the ``python/`` layout Lambda mounts at ``/opt/python``; dependencies are wheels
resolved for the target runtime and architecture (not the build machine); what the Python
runtime already ships (boto3, botocore, ...) is left out; the bytes are reproducible.
"""

from __future__ import annotations

import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

__all__ = ["RUNTIME_PACKAGES", "LayerBuildError", "build_layer"]

#: Distributions the Lambda Python runtime provides; left out unless asked to keep them.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python_dateutil", "six")
_RUNTIME_TOP_LEVEL = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six.py", "six")
_EXTRAS = {"redis": ["redis>=4.5"], "dynamodb": ["boto3>=1.26"], "fast": ["orjson>=3.9"]}
_PLATFORMS = {
    "x86_64": ["manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64"],
    "arm64": ["manylinux2014_aarch64", "manylinux_2_28_aarch64", "manylinux_2_34_aarch64"],
}
_BLOAT_DIRS = {"__pycache__", "tests", "test", "testing_support", "bin", "wrapt-stubs"}
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class LayerBuildError(ValueError):
    """The layer could not be built; the message says why and what to do."""


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _requirements(extras: Iterable[str], slim: bool = False) -> list[str]:
    reqs = ["aws-xray-sdk>=2.12", "wrapt>=1.14", "python-json-logger>=3.1", "jmespath>=1.0"]
    if not slim:  # orjson: documents and log lines serialize several times faster (benchmarks/RESULTS.md)
        reqs += _EXTRAS["fast"]
    for extra in extras:
        extra = extra.strip()
        if extra not in _EXTRAS:
            raise LayerBuildError(f"unknown extra {extra!r}; known: {', '.join(sorted(_EXTRAS))}")
        reqs += _EXTRAS[extra]
    return reqs


def _pip_install(reqs: list[str], target: Path, python: str, arch: str) -> None:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--target",
        str(target),
        "--implementation",
        "cp",
        "--python-version",
        python,
        "--only-binary=:all:",
        "--upgrade",
    ]
    for platform in _PLATFORMS[arch]:
        cmd += ["--platform", platform]
    proc = subprocess.run(cmd + reqs, capture_output=True, text=True)
    if proc.returncode != 0:
        text = proc.stderr + proc.stdout
        missing = [line.split("for", 1)[-1].strip() for line in text.splitlines() if "No matching distribution" in line]
        if missing:
            raise LayerBuildError(f"no {arch} wheel for {missing[0]} for Python {python}; pip said:\n{text.strip()}")
        raise LayerBuildError(f"pip could not resolve the layer's dependencies for Python {python}/{arch}:\n{text}")


def _copy_self(target: Path) -> None:
    """Put this package (pure Python) into the layer, without caches."""
    here = Path(__file__).resolve().parent
    shutil.copytree(
        here, target / "lambda_observe", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "_layer_files")
    )


def _prune(site: Path, keep_runtime: bool) -> None:
    if not keep_runtime:
        for name in _RUNTIME_TOP_LEVEL:
            path = site / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        for info in list(site.glob("*.dist-info")):
            dist = info.name.split("-")[0].lower()
            if dist in RUNTIME_PACKAGES:
                shutil.rmtree(info)
    for path in sorted(site.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and path.name in _BLOAT_DIRS:
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and path.suffix in (".pyc", ".pyo"):
            path.unlink()


def _compile(site: Path, python: str) -> None:
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if running != python:
        raise LayerBuildError(
            f"--compile makes .pyc files for the running Python ({running}), not {python}; "
            f"run the build with Python {python}, or leave out --compile"
        )
    for source in sorted(site.rglob("*.py")):
        py_compile.compile(
            str(source),
            cfile=str(source) + "c",
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        source.unlink()


def _zip(root: Path, out: Path) -> None:
    files = sorted((p for p in root.rglob("*") if p.is_file()), key=lambda p: p.relative_to(root).as_posix())
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            executable = path.suffix == ".so" or path.name == "lambda-observe-wrapper"
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            info.create_system = 3
            zf.writestr(info, path.read_bytes(), compresslevel=9)


def _table(site: Path) -> list[tuple[str, int]]:
    sizes: dict[str, int] = {}
    for path in site.rglob("*"):
        if path.is_file():
            top = path.relative_to(site).parts[0]
            name = top.split("-")[0] if top.endswith(".dist-info") else top.removesuffix(".py")
            sizes[name] = sizes.get(name, 0) + path.stat().st_size
    return sorted(sizes.items(), key=lambda kv: -kv[1])


def build_layer(
    python: str = f"{sys.version_info.major}.{sys.version_info.minor}",
    arch: str = "x86_64",
    extras: Iterable[str] = (),
    out: str | os.PathLike[str] = "dist",
    keep_runtime: bool = False,
    compile_only: bool = False,
    source: str | None = None,
    quiet: bool = False,
    slim: bool = False,
) -> Path:
    """Build the layer zip and return its path. Raises :class:`LayerBuildError` with the reason."""
    if python not in ("3.10", "3.11", "3.12", "3.13", "3.14"):
        raise LayerBuildError(f"--python {python!r}: expected a Lambda Python runtime version, 3.10 to 3.14")
    if arch not in _PLATFORMS:
        raise LayerBuildError(f"--arch {arch!r}: expected x86_64 or arm64")
    reqs = _requirements([e for e in extras if e != "fast"], slim)
    if source is not None:
        reqs.append(str(Path(source).resolve()))
    say = (lambda m: None) if quiet else _say
    from . import __version__

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"lambda-observe-{__version__}-py{python}-{arch}.zip"
    with tempfile.TemporaryDirectory(prefix="lambda-observe-layer-") as tmp:
        root = Path(tmp)
        site = root / "python"
        site.mkdir()
        say(f"[1/4] resolving wheels for Python {python} on {arch}: {', '.join(reqs)}")
        _pip_install(reqs, site, python, arch)
        if source is None:
            _copy_self(site)
        say(
            "[2/4] leaving out the runtime's own packages, tests and caches"
            + (" (keeping runtime packages)" if keep_runtime else "")
        )
        _prune(site, keep_runtime)
        if compile_only:
            say("[3/4] compiling to .pyc")
            _compile(site, python)
        else:
            say("[3/4] keeping .py sources (use --compile for .pyc only)")
        wrapper = Path(__file__).resolve().parent / "_layer_files" / "lambda-observe-wrapper"
        shutil.copyfile(wrapper, root / "lambda-observe-wrapper")
        (root / "lambda-observe-wrapper").chmod(0o755)
        say(f"[4/4] writing {target}")
        _zip(root, target)
        unzipped = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
        table = _table(site)
    zipped = target.stat().st_size
    if not quiet:
        print(f"{target}: {zipped:,} bytes zipped, {unzipped:,} bytes unzipped")
        for name, size in table:
            print(f"  {name:<28} {size:>12,} bytes")
    return target
