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

from lambda_observe.layer import RUNTIME_PACKAGES, build_layer, strip_tool
from lambda_observe.testing import collector, trace_header
from tests.conftest import need
from tests.servers import reachable

#: The zipped layer for python3.12/arm64 (with orjson) must stay within this many bytes:
#: a quarter of a Powertools[tracer] layer built the same way (1,447,188 B; issue #17).
SIZE_BUDGET = 361_797

HANDLER = """
import sys
sys.path[:0] = [{layer!r}, {runtime!r}, {task!r}]
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import lambda_observe
assert lambda_observe.__file__.startswith({layer!r}), lambda_observe.__file__
from lambda_observe import get_logger, patch, subsegment, traced
patch("boto3", "requests", "sqlite3", "psycopg")
import boto3, psycopg, requests, sqlite3
for mod in (boto3, psycopg, requests):
    assert not mod.__file__.startswith({layer!r}), mod.__file__
import aws_xray_sdk, wrapt
assert aws_xray_sdk.__file__.startswith({layer!r}) and wrapt.__file__.startswith({layer!r})
log = get_logger("layer")


class Ok(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
threading.Thread(target=server.serve_forever, daemon=True).start()


class Context:
    function_name = "layer-fn"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:layer-fn"
    memory_limit_in_mb = 128
    aws_request_id = "layer-request-1"
    log_group_name = log_stream_name = "layer"

    def get_remaining_time_in_millis(self):
        return 30000


@traced(service="layer-test")
def handler(event, context):
    with subsegment("inside the layer"):
        log.info("hello from the layer", extra={{"n": event["n"]}})
        boto3.client("dynamodb", endpoint_url={moto!r}, region_name="us-east-1").list_tables()
        requests.get(f"http://127.0.0.1:{{server.server_address[1]}}/ok", timeout=5)
        sqlite3.connect(":memory:").execute("SELECT 1")
        if {dsn!r}:
            conn = psycopg.connect({dsn!r})
            conn.cursor().execute("SELECT 1")
            conn.close()
    return event["n"]

assert handler({{"n": 5}}, Context()) == 5
server.shutdown()
"""

#: What the function's own deployment package would hold (/var/task): requests and psycopg.
TASK_PACKAGES = (
    "requests",
    "certifi",
    "idna",
    "charset_normalizer",
    "psycopg",
    "psycopg_binary",
    "psycopg_binary.libs",
    "typing_extensions.py",
)


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


def task_dir(tmp: Path) -> Path:
    """The function's own packages (its deployment package): requests and psycopg."""
    site = Path(sysconfig.get_paths()["purelib"])
    task = tmp / "task"
    task.mkdir()
    for name in TASK_PACKAGES:
        if (site / name).exists():
            (task / name).symlink_to(site / name)
    return task


def test_layer_runs_a_decorated_handler_in_isolation(layer, tmp_path, xray_validator, moto_endpoint):
    """Imports from the layer, traces to a UDP collector, logs JSON; patches boto3, requests,
    sqlite3 and psycopg with what the layer holds (real calls: moto, a local HTTP server,
    SQLite, PostgreSQL)."""
    opt = tmp_path / "opt"
    with zipfile.ZipFile(layer) as zf:
        zf.extractall(opt)
    assert (opt / "python" / "lambda_observe" / "__init__.py").is_file()
    need(reachable("127.0.0.1", 5432), "PostgreSQL is not listening on 127.0.0.1:5432")
    dsn = "postgresql://postgres:secretpw@127.0.0.1:5432/test"
    runtime = runtime_dir(tmp_path)
    code = HANDLER.format(
        layer=str(opt / "python"), runtime=str(runtime), task=str(task_dir(tmp_path)), moto=moto_endpoint, dsn=dsn
    )
    with collector() as segs:
        env = {
            "PATH": os.environ["PATH"],
            "AWS_XRAY_DAEMON_ADDRESS": segs.address,
            "_X_AMZN_TRACE_ID": trace_header(),
            "LAMBDA_TASK_ROOT": str(tmp_path),
            "AWS_LAMBDA_FUNCTION_NAME": "layer-fn",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        proc = subprocess.run(
            [sys.executable, "-I", "-S", "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
        docs = segs.settle(quiet=0.1)
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    (line,) = [x for x in lines if x.get("logger") == "layer"]
    assert line["message"] == "hello from the layer" and line["function_name"] == "layer-fn"
    for doc in docs:
        assert not list(xray_validator.iter_errors(doc))
    by_name = {d["name"]: d for d in docs}
    assert {"## handler", "inside the layer", "dynamodb", "127.0.0.1", ":memory:"} <= set(by_name), sorted(by_name)
    assert by_name["dynamodb"]["aws"]["operation"] == "ListTables"
    assert by_name["127.0.0.1"]["http"]["response"]["status"] == 200
    assert by_name[":memory:"]["sql"]["database_type"] == "sqlite3"
    (pg,) = [d for d in docs if d.get("sql", {}).get("database_type") == "PostgreSQL"]
    inside = by_name["inside the layer"]["id"]
    assert {by_name["dynamodb"]["parent_id"], by_name["127.0.0.1"]["parent_id"], pg["parent_id"]} == {inside}


def test_layer_contents(layer):
    """python/ layout; no runtime packages, tests, caches, C sources, stubs or CLI; the exec wrapper."""
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
    assert not [n for n in names if n.endswith((".c", ".h", ".pyi")) or n.endswith("dist-info/RECORD")]
    for gone in ("cli.py", "layer.py", "local/runner.py", "testing.py"):
        assert f"python/lambda_observe/{gone}" not in names
    assert not [n for n in names if n.startswith(("python/aws_xray_sdk/ext/django/", "python/aws_xray_sdk/ext/flask/"))]
    assert "python/aws_xray_sdk/ext/resources/aws_para_whitelist.json" in names


def test_layer_has_lambda_observes_metadata_and_licence(layer):
    """The layer carries lambda_observe-<version>.dist-info: METADATA with the name, the version
    and the MIT licence, and the repository's LICENSE text (the layer's copy is the same file)."""
    from lambda_observe import __version__

    info = f"python/lambda_observe-{__version__}.dist-info"
    with zipfile.ZipFile(layer) as zf:
        headers = dict(line.split(": ", 1) for line in zf.read(f"{info}/METADATA").decode().splitlines() if line)
        licence = zf.read(f"{info}/LICENSE")
    assert (headers["Name"], headers["Version"], headers["License"]) == ("lambda-observe", __version__, "MIT")
    root = Path(__file__).resolve().parents[2]
    assert licence == (root / "LICENSE").read_bytes() == (root / "src/lambda_observe/_layer_files/LICENSE").read_bytes()
    assert b"MIT License" in licence and b"lambda_observe contributors" in licence
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    assert 'license = { text = "MIT" }' in pyproject


def test_layer_lists_the_resolved_versions_it_holds(layer):
    """python/lambda_observe-layer.txt lists name==version for exactly the distributions whose
    dist-info is in the layer (what "the same inputs" means for reproducibility)."""
    from lambda_observe.layer import LISTING

    with zipfile.ZipFile(layer) as zf:
        names = zf.namelist()
        listing = zf.read(f"python/{LISTING}").decode().splitlines()
        found = set()
        for name in names:
            if name.endswith(".dist-info/METADATA") and name.count("/") == 2:
                head = zf.read(name).decode().partition("\n\n")[0]
                fields = dict(line.split(": ", 1) for line in head.splitlines() if ": " in line)
                found.add(f"{fields['Name']}=={fields['Version']}")
    assert listing and set(listing) == found and len(listing) == len(found)
    assert listing == sorted(listing, key=str.lower)
    for dist in ("aws-xray-sdk", "wrapt", "python-json-logger", "orjson", "lambda-observe"):
        assert any(line.lower().startswith(f"{dist}==") for line in listing), (dist, listing)
    assert not any(line.lower().startswith(("boto3==", "botocore==")) for line in listing)


def test_constraints_pin_the_resolved_versions(tmp_path, capsys):
    """A constraints file (--constraints) is passed to pip: pinning wrapt to an older release puts
    that release in the layer and in its listing, and the build prints it."""
    pins = tmp_path / "constraints.txt"
    pins.write_text("wrapt==1.17.2\n", encoding="utf-8")
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    arch = {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[os.uname().machine]
    built = build_layer(python=python, arch=arch, out=tmp_path, slim=True, constraints=pins)
    listing = zipfile.ZipFile(built).read("python/lambda_observe-layer.txt").decode().splitlines()
    assert "wrapt==1.17.2" in listing
    assert "wrapt==1.17.2" in capsys.readouterr().out


def test_with_cli_keeps_the_command_line(tmp_path):
    """with_cli=True (--with-cli) keeps the CLI, the layer builder and the local runner."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    arch = {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[os.uname().machine]
    built = build_layer(python=python, arch=arch, out=tmp_path, quiet=True, slim=True, with_cli=True)
    names = zipfile.ZipFile(built).namelist()
    for kept in ("cli.py", "layer.py", "local/runner.py", "testing.py"):
        assert f"python/lambda_observe/{kept}" in names


def test_arm64_layer_is_within_the_size_budget(tmp_path):
    """The python3.12/arm64 layer (as issue #17 measures it) is at most a quarter of a Powertools
    layer, with its native libraries stripped."""
    need(strip_tool("arm64") is not None, "no strip program for arm64 (llvm-strip or binutils-aarch64-linux-gnu)")
    built = build_layer(python="3.12", arch="arm64", out=tmp_path, quiet=True)
    size = built.stat().st_size
    assert size <= SIZE_BUDGET, f"layer is {size:,} bytes, budget {SIZE_BUDGET:,}"
    with zipfile.ZipFile(built) as zf:
        (lib,) = [i for i in zf.infolist() if i.filename.startswith("python/orjson/") and ".so" in i.filename]
        data = zf.read(lib)
        assert data[:4] == b"\x7fELF"
        assert b".symtab" not in data and b".debug_info" not in data, "orjson's extension is not stripped"
        assert not [i for i in zf.infolist() if i.filename.startswith("python/wrapt/_wrappers")]


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
