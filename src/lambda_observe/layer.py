"""Building the Lambda layer zip: ``lambda-observe layer build``.

The zip has the ``python/`` layout Lambda mounts at ``/opt/python``; dependencies are wheels
resolved for the target runtime and architecture (not the build machine); what the Python
runtime already ships (boto3, botocore, ...) is left out; the bytes are reproducible.

Only what runs on Lambda goes in: native libraries are stripped of symbols and debug info; C
sources, type stubs, tests, install records and package long descriptions are left out; so are
this package's CLI, layer builder, local runner and trace finder, and the X-Ray SDK's web-framework
integrations (``with_cli=True`` keeps the CLI, builder and runner); wrapt goes in without its C
extension (its pure-Python wrappers serve the SDK's patchers). This package's own sources go in
with their docstrings and comments blanked, every line kept where it was (:mod:`._slim`), so
tracebacks point at the repository's line numbers; the X-Ray SDK's and python-json-logger's sources go in
with their docstrings blanked and their comments (license headers) kept.

The layer also carries ``lambda_observe-<version>.dist-info`` (name, version, licence, the LICENSE
text: what ``importlib.metadata`` and licence scanners read) and ``lambda_observe-layer.txt``, the
resolved version of every distribution in it, which the build also prints: "the same inputs give
the same bytes" means the same resolved versions (``constraints=`` pins them through pip).
"""

from __future__ import annotations

import os
import platform as _platform
import py_compile
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

__all__ = ["LISTING", "RUNTIME_PACKAGES", "LayerBuildError", "build_layer", "resolved"]

#: Distributions the Lambda Python runtime provides; left out unless asked to keep them.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python_dateutil", "six")
_RUNTIME_TOP_LEVEL = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six.py", "six")
_EXTRAS = {"redis": ["redis>=4.5"], "dynamodb": ["boto3>=1.26"], "fast": ["orjson>=3.9"]}
_PLATFORMS = {
    "x86_64": ["manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64"],
    "arm64": ["manylinux2014_aarch64", "manylinux_2_28_aarch64", "manylinux_2_34_aarch64"],
}
_BLOAT_DIRS = {"__pycache__", "tests", "test", "testing_support", "bin", "wrapt-stubs", "sboms"}
_BLOAT_SUFFIXES = (".pyc", ".pyo", ".c", ".h", ".pyi")
_BLOAT_FILES = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
#: Never used on Lambda: the command line, the layer builder, the local runner, the trace finder and
#: viewer, and test helpers.
_CLI_ONLY = ("cli.py", "layer.py", "_slim.py", "local", "traces", "testing.py", "__main__.py")
#: The X-Ray SDK's integrations for web frameworks (a Lambda function has none of these servers),
#: and its patchers for botocore and requests (lambda_observe patches those itself).
_SDK_UNUSED = ("aiohttp", "bottle", "django", "flask", "flask_sqlalchemy", "sqlalchemy", "botocore", "requests")
_MACHINE = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
#: The layer's listing of the distributions it holds, ``name==version`` a line (in ``python/``).
LISTING = "lambda_observe-layer.txt"


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


def _pip_install(reqs: list[str], target: Path, python: str, arch: str, constraints: str | None = None) -> None:
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
    if constraints is not None:
        cmd += ["--constraint", constraints]
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


def _self_dist_info(site: Path, version: str) -> None:
    """A minimal ``lambda_observe-<version>.dist-info``: what ``importlib.metadata`` and licence
    scanners read (name, version, licence, the licence text), for the copy of this package."""
    info = site / f"lambda_observe-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: lambda-observe\nVersion: {version}\nLicense: MIT\nLicense-File: LICENSE\n",
        encoding="utf-8",
    )
    shutil.copyfile(Path(__file__).resolve().parent / "_layer_files" / "LICENSE", info / "LICENSE")


def resolved(site: Path) -> list[str]:
    """``name==version`` for every distribution installed in ``site``, sorted by name."""
    found = []
    for info in site.glob("*.dist-info"):
        name = version = ""
        for line in (info / "METADATA").read_text(encoding="utf-8").splitlines():
            if not line:
                break
            key, _, value = line.partition(": ")
            if key == "Name":
                name = value.strip()
            elif key == "Version":
                version = value.strip()
        if name:
            found.append(f"{name}=={version}")
    return sorted(found, key=str.lower)


def _slim_self(package: Path, comments: bool = True) -> None:
    """Blank a package's docstrings (and, for this package, comments) in the layer, line numbers
    kept (see ``_slim``). A file that does not parse is left as it is."""
    from ._slim import slim

    for path in package.rglob("*.py"):
        try:
            text = slim(path.read_text(encoding="utf-8"), comments=comments)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        path.write_text(text, encoding="utf-8")


def _prune(site: Path, keep_runtime: bool, with_cli: bool = False, diet: bool = True) -> None:
    """Leave out the runtime's packages and what never runs on Lambda. ``diet=False`` keeps to
    the pruning of earlier versions (runtime packages, tests, caches), which the benchmarks apply
    to a Powertools layer so its size stays comparable with the figure issue #17 quotes."""
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
    if not diet:
        for path in sorted(site.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if path.is_dir() and path.name in _BLOAT_DIRS - {"sboms"}:
                shutil.rmtree(path, ignore_errors=True)
            elif path.is_file() and path.suffix in (".pyc", ".pyo"):
                path.unlink()
        return
    if not with_cli:
        for name in _CLI_ONLY:
            _remove(site / "lambda_observe" / name)
        for name in _SDK_UNUSED:
            _remove(site / "aws_xray_sdk" / "ext" / name)
        if (site / "lambda_observe").is_dir():
            _slim_self(site / "lambda_observe")
        # Pure-Python dependencies that never read their own docstrings: docstrings blanked,
        # comments (license headers among them) kept.
        for name in ("aws_xray_sdk", "pythonjsonlogger"):
            if (site / name).is_dir():
                _slim_self(site / name, comments=False)
        # wrapt serves only the X-Ray SDK's patchers for the libraries lambda_observe does not patch
        # itself (sqlite3, psycopg, pymysql...); its pure-Python wrappers do the same job a few
        # microseconds slower per wrapped call, for a quarter of wrapt's zipped size.
        for ext in (site / "wrapt").glob("_wrappers*.so"):
            ext.unlink()
    for path in sorted(site.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and path.name in _BLOAT_DIRS:
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and (path.suffix in _BLOAT_SUFFIXES or _install_record(path)):
            path.unlink()
        elif path.is_file() and path.name == "METADATA" and path.parent.name.endswith(".dist-info"):
            _headers_only(path)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _install_record(path: Path) -> bool:
    return path.name in _BLOAT_FILES and path.parent.name.endswith(".dist-info")


def _headers_only(metadata: Path) -> None:
    """Keep a METADATA file's headers (name, version, license: what importlib.metadata reads);
    drop the long description (the project's README) after the first blank line."""
    text = metadata.read_text(encoding="utf-8")
    head, sep, _ = text.partition("\n\n")
    if sep:
        metadata.write_text(head + "\n", encoding="utf-8")


def strip_tool(arch: str) -> str | None:
    """A program that can strip ``arch`` ELF files on this machine, or None."""
    gnu = {"x86_64": "x86_64-linux-gnu-strip", "arm64": "aarch64-linux-gnu-strip"}[arch]
    for tool in ("llvm-strip", gnu, *sorted(_llvm_versions())):
        if shutil.which(tool):
            return tool
    if _MACHINE.get(_platform.machine()) == arch and shutil.which("strip"):
        return "strip"
    return None


def _llvm_versions() -> list[str]:
    return [p.name for d in os.get_exec_path() if os.path.isdir(d) for p in Path(d).glob("llvm-strip-*")]


def _strip(site: Path, arch: str) -> int:
    """Strip symbols and debug info from the native libraries; returns how many were stripped."""
    libs = sorted(p for p in site.rglob("*.so*") if p.is_file())
    if not libs:
        return 0
    tool = strip_tool(arch)
    if tool is None:
        _say(
            f"lambda-observe: no strip program for {arch} here (llvm-strip, or binutils' "
            f"{'aarch64' if arch == 'arm64' else 'x86_64'}-linux-gnu-strip): native libraries left unstripped"
        )
        return 0
    for lib in libs:
        proc = subprocess.run([tool, "--strip-unneeded", str(lib)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise LayerBuildError(f"{tool} could not strip {lib.name}: {proc.stderr.strip()}")
    return len(libs)


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
    with_cli: bool = False,
    constraints: str | os.PathLike[str] | None = None,
) -> Path:
    """Build the layer zip and return its path. Raises :class:`LayerBuildError` with the reason.

    ``constraints`` is a pip constraints file (``name==version`` lines) that pins what is resolved.
    """
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
        if constraints is not None and not Path(constraints).is_file():
            raise LayerBuildError(f"--constraints {os.fspath(constraints)!r}: no such file")
        _pip_install(reqs, site, python, arch, None if constraints is None else str(Path(constraints).resolve()))
        if source is None:
            _copy_self(site)
            _self_dist_info(site, __version__)
        say(
            "[2/4] leaving out the runtime's own packages, tests, caches, sources and stubs"
            + (" (keeping runtime packages)" if keep_runtime else "")
            + (" (keeping the CLI and local runner)" if with_cli else "")
        )
        _prune(site, keep_runtime, with_cli)
        versions = resolved(site)
        (site / LISTING).write_text("".join(f"{line}\n" for line in versions), encoding="utf-8")
        say(f"      resolved: {', '.join(versions)}")
        stripped = _strip(site, arch)
        if stripped:
            say(f"      stripped {stripped} native libraries")
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
        print(f"  resolved: {', '.join(versions)}")
        for name, size in table:
            print(f"  {name:<28} {size:>12,} bytes")
    return target
