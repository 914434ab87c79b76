"""The layer works where Lambda mounts it: built, unpacked into /opt/python's layout, and run in a
fresh interpreter whose sys.path has only that directory, the standard library and boto3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from lambda_observe.layer import RUNTIME_PACKAGES, build_layer
from lambda_observe.testing import collector, trace_header

#: The zipped layer (with orjson) must stay under this many bytes.
SIZE_BUDGET = 700_000

HANDLER = """
import sys
sys.path[:0] = [{layer!r}, {runtime!r}]
import lambda_observe
assert lambda_observe.__file__.startswith({layer!r}), lambda_observe.__file__
from lambda_observe import get_logger, patch, subsegment, traced
from lambda_observe.testing import LambdaContext
patch("boto3")
import boto3
log = get_logger("layer")

@traced(service="layer-test")
def handler(event, context):
    with subsegment("inside the layer"):
        log.info("hello from the layer", extra={{"n": event["n"]}})
    return event["n"]

assert handler({{"n": 5}}, LambdaContext(function_name="layer-fn")) == 5
"""


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("layer")
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    arch = {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[os.uname().machine]
    return build_layer(python=python, arch=arch, out=out, quiet=True)


def runtime_dir(tmp: Path) -> Path:
    """What the Lambda Python runtime provides besides the standard library: boto3 and its dependencies."""
    site = Path(sysconfig.get_paths()["purelib"])
    runtime = tmp / "runtime"
    runtime.mkdir()
    for name in ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six.py"):
        if (site / name).exists():
            (runtime / name).symlink_to(site / name)
    return runtime


def test_layer_runs_a_decorated_handler_in_isolation(layer, tmp_path, xray_validator):
    """Imports from the layer, traces to a UDP collector, logs JSON."""
    opt = tmp_path / "opt"
    with zipfile.ZipFile(layer) as zf:
        zf.extractall(opt)
    assert (opt / "python" / "lambda_observe" / "__init__.py").is_file()
    runtime = runtime_dir(tmp_path)
    code = HANDLER.format(layer=str(opt / "python"), runtime=str(runtime))
    with collector() as segs:
        env = {
            "PATH": os.environ["PATH"],
            "AWS_XRAY_DAEMON_ADDRESS": segs.address,
            "_X_AMZN_TRACE_ID": trace_header(),
            "LAMBDA_TASK_ROOT": str(tmp_path),
            "AWS_LAMBDA_FUNCTION_NAME": "layer-fn",
            "AWS_REGION": "us-east-1",
        }
        proc = subprocess.run(
            [sys.executable, "-I", "-S", "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
        docs = segs.settle(quiet=0.1)
    (line,) = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    assert line["message"] == "hello from the layer" and line["function_name"] == "layer-fn"
    assert sorted(d["name"] for d in docs) == ["## handler", "inside the layer"]
    for doc in docs:
        assert not list(xray_validator.iter_errors(doc))


def test_layer_contents_and_budget(layer):
    """python/ layout; no runtime packages, tests or caches; the exec wrapper; within the size budget."""
    with zipfile.ZipFile(layer) as zf:
        names = zf.namelist()
        infos = zf.infolist()
    assert all(n.startswith("python/") or n == "lambda-observe-wrapper" for n in names)
    assert "lambda-observe-wrapper" in names
    tops = {n.split("/")[1] for n in names if n.startswith("python/")}
    assert {"lambda_observe", "aws_xray_sdk", "wrapt", "pythonjsonlogger"} <= tops
    assert not tops & {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six.py"}
    assert not any("__pycache__" in n or "/tests/" in n for n in names)
    assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
    assert names == sorted(names)
    assert set(RUNTIME_PACKAGES) >= {"boto3", "botocore"}
    assert layer.stat().st_size < SIZE_BUDGET, f"layer is {layer.stat().st_size} bytes, budget {SIZE_BUDGET}"


def test_layer_is_reproducible(layer, tmp_path):
    """The same inputs give the same bytes."""
    again = build_layer(
        python=layer.name.split("-py")[1].split("-")[0], arch=layer.stem.rsplit("-", 1)[1], out=tmp_path, quiet=True
    )
    assert again.read_bytes() == layer.read_bytes()


def test_missing_wheel_fails_clearly(tmp_path):
    """A requirement with no wheel for the target names the architecture and the package."""
    from lambda_observe.layer import LayerBuildError, _pip_install

    with pytest.raises(LayerBuildError, match="no arm64 wheel for"):
        _pip_install(["lambda-observe-no-such-package-xyz==0.0.1"], tmp_path, "3.12", "arm64")


def test_bad_arguments():
    """Bad versions, architectures and extras are refused with what was expected."""
    from lambda_observe.layer import LayerBuildError

    with pytest.raises(LayerBuildError, match=r"3\.10 to 3\.14"):
        build_layer(python="2.7")
    with pytest.raises(LayerBuildError, match="x86_64 or arm64"):
        build_layer(arch="sparc")
    with pytest.raises(LayerBuildError, match="unknown extra"):
        build_layer(extras=["nope"])


def test_exec_wrapper_script_hands_the_handler_over(tmp_path):
    """/opt/lambda-observe-wrapper (AWS_LAMBDA_EXEC_WRAPPER) moves _HANDLER to LAMBDA_OBSERVE_HANDLER."""
    from lambda_observe import _layer_files

    script = Path(_layer_files.__path__[0]) / "lambda-observe-wrapper"
    code = "import os; print(os.environ['_HANDLER'], os.environ['LAMBDA_OBSERVE_HANDLER'])"
    proc = subprocess.run(
        ["bash", str(script), sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "_HANDLER": "pkg/app.handler"},
        timeout=30,
    )
    assert proc.stdout.split() == ["lambda_observe.wrapper.handler", "pkg/app.handler"]


def test_compile_only(tmp_path):
    """--compile ships .pyc files only (for the Python that builds), and they import."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    arch = {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[os.uname().machine]
    built = build_layer(python=python, arch=arch, out=tmp_path, quiet=True, compile_only=True, slim=True)
    with zipfile.ZipFile(built) as zf:
        names = zf.namelist()
        zf.extractall(tmp_path / "opt")
    assert not [n for n in names if n.endswith(".py")]
    assert "python/lambda_observe/__init__.pyc" in names
    proc = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            f"import sys; sys.path[:0] = [{str(tmp_path / 'opt' / 'python')!r}]; "
            "import lambda_observe, lambda_observe.tracing; print(lambda_observe.__file__)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("__init__.pyc")
