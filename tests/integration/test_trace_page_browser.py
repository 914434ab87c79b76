"""The trace page in a real browser (Debian's headless Chromium through chromedriver): bars per
entity, status colours, the service map, markup shown as text, no network request, and scale."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lambda_observe.local.page import write_page
from tests.browser import chromium, requested_urls
from tests.conftest import DATA

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
DOC_IMAGES = ROOT / "docs" / "img"
RGB = {
    "fault": "rgb(209, 50, 18)",
    "throttle": "rgb(138, 79, 200)",
    "error": "rgb(224, 176, 0)",
    "ok": "rgb(29, 129, 2)",
}


def rgb(css: str) -> str:
    """``rgba(209, 50, 18, 1)`` and ``rgb(209, 50, 18)`` alike as ``rgb(209, 50, 18)``."""
    parts = css[css.index("(") + 1 : css.index(")")].split(",")[:3]
    return "rgb(" + ", ".join(p.strip() for p in parts) + ")"


def screenshot(driver, name: str) -> Path:
    """Saved under tests/artifacts; copied to docs/img when UPDATE_DOC_IMAGES=1 (the docs' pictures)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    if os.environ.get("UPDATE_DOC_IMAGES") == "1":
        DOC_IMAGES.mkdir(exist_ok=True)
        shutil.copy(path, DOC_IMAGES / name)
    return path


@pytest.fixture(scope="module")
def payments():
    """A loopback HTTP server that answers each POST with the status named in its query string."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(int(self.path.split("status=")[1]))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def shop_page(payments, tmp_path_factory):
    """`lambda-observe invoke ... --times 4 --html`: a cold start, a 500 (fault), a 429 (throttle), a 404."""
    tmp = tmp_path_factory.mktemp("page") / "shop"  # the function's name is its directory's
    tmp.mkdir()
    shutil.copy(DATA / "handlers" / "shop_page.py", tmp / "shop.py")
    (tmp / "event.json").write_text("{}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMBDA_OBSERVE_", "AWS_LAMBDA", "_X_AMZN"))}
    env.pop("LAMBDA_TASK_ROOT", None)
    env.update(PAYMENTS=payments, SHOP_DB="shop.db", LAMBDA_OBSERVE_IDEMPOTENCY_STORE="memory://")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lambda_observe.cli",
            "invoke",
            f"{tmp / 'shop.py'}:handler",
            "--event",
            str(tmp / "event.json"),
            "--times",
            "4",
            "--html",
            str(tmp / "shop.html"),
        ],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr  # the second invocation raised
    assert f"wrote {tmp / 'shop.html'}" in proc.stdout
    return tmp / "shop.html"


def js(driver, script: str):
    return driver.execute_script(script)


def type_filter(driver, text: str) -> None:
    """Type into the filter box and wait until the page has applied it (the box waits for a pause)."""
    from selenium.webdriver.support.ui import WebDriverWait

    box = driver.find_element("id", "filter")
    box.clear()
    box.send_keys(text)
    want = text + "\u0000all"
    WebDriverWait(driver, 10).until(lambda d: d.find_element("tag name", "body").get_attribute("data-filter") == want)


def severe_console(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_the_invoked_documents_validate(shop_page, assert_valid):
    """Every entity the page carries is a document the library sent, and validates against the schema."""
    import re

    block = re.search(r'id="trace-data">(.*?)</script>', shop_page.read_text(), re.S).group(1)
    traces = json.loads(block)["traces"]
    assert len(traces) == 4
    for trace in traces:
        assert_valid([{k: v for k, v in row.items() if k not in ("d", "o", "ms", "s", "c")} for row in trace["rows"]])


def test_page_shows_waterfall_map_and_escaped_markup(shop_page):
    """Four invocations: one trace row each; the fault trace has one bar per entity, the 500 call's
    bar in the fault colour; the map has the function, the SQL database and the remote host with two
    edges; markup from annotations, metadata and the exception is text; only the file was requested."""
    with chromium() as driver:
        driver.get(shop_page.as_uri())
        assert driver.find_element("tag name", "body").get_attribute("data-ready") == "1"
        assert requested_urls(driver) == [shop_page.as_uri()]
        assert len(driver.find_elements("css selector", ".trace-row")) == 4
        assert len(driver.find_elements("css selector", ".trace-row .badge")) == 1  # one cold start

        driver.find_element("css selector", ".trace-row .dot.s-fault").click()
        rows = driver.find_elements("css selector", ".wf-row")
        names = [r.find_element("css selector", ".name").text for r in rows]
        assert names[0] == "## handler" and names.count("127.0.0.1") == 2 and len(names) == 5
        bars = driver.find_elements("css selector", ".wf-row .bar")
        assert len(bars) == len(rows) == 5
        assert all(b.size["width"] >= 1 for b in bars)
        faulted = [r for r in rows if r.get_attribute("data-status") == "fault"]
        assert {r.find_element("css selector", ".name").text for r in faulted} >= {"## handler", "127.0.0.1"}
        bar = faulted[1].find_element("css selector", ".bar")
        assert rgb(bar.value_of_css_property("background-color")) == RGB["fault"]

        assert len(driver.find_elements("css selector", "#service-map [data-node]")) == 3
        assert len(driver.find_elements("css selector", "#service-map [data-edge]")) == 2
        kinds = sorted(n.get_attribute("data-node") for n in driver.find_elements("css selector", "[data-node]"))
        assert kinds == ["function", "remote", "sql"]
        edge_colours = {
            rgb(e.value_of_css_property("stroke")) for e in driver.find_elements("css selector", "[data-edge]")
        }
        assert edge_colours == {RGB["fault"], RGB["ok"]}  # the remote host had a 500; SQL was fine

        rows[-1].click()  # the subsegment whose annotation and metadata carry markup
        detail = driver.find_element("id", "detail").text
        assert "<img src=x onerror=alert(1)>" in detail
        assert "</script><script>window.__pwned=2</script>" in detail
        assert "payments answered 500 <script>" in detail
        assert js(driver, "return window.__pwned === undefined && document.scripts.length === 2")
        assert driver.find_elements("css selector", "img") == []
        screenshot(driver, "trace-page.png")

        select = driver.find_element("id", "status")
        for status, colour in (("throttle", RGB["throttle"]), ("error", RGB["error"])):
            select.find_element("css selector", f"option[value={status}]").click()
            assert len(driver.find_elements("css selector", ".trace-row")) == 1
            strokes = {
                rgb(e.value_of_css_property("stroke")) for e in driver.find_elements("css selector", "[data-edge]")
            }
            assert colour in strokes, (status, strokes)
        screenshot(driver, "trace-page-error.png")
        assert requested_urls(driver) == []  # nothing more was fetched while using it


def test_a_name_with_markup_shows_as_text(tmp_path, xray_validator):
    """A saved document whose name holds a script element (X-Ray's schema forbids it, a file may not)
    shows the name as text and runs nothing."""
    hostile = {
        "id": "0123456789abcdef",
        "trace_id": "1-6b000000-00000000000000000000abcd",
        "name": "<script>window.__pwned=3</script>",
        "start_time": 1795400000.0,
        "end_time": 1795400000.2,
    }
    assert list(xray_validator.iter_errors(hostile)), "the schema should refuse this name"
    (tmp_path / "t.json").write_text(json.dumps([hostile]))
    page = tmp_path / "p.html"
    subprocess.run(
        [sys.executable, "-m", "lambda_observe.cli", "view", str(tmp_path / "t.json"), "--html", str(page)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    with chromium() as driver:
        driver.get(page.as_uri())
        assert driver.find_element("css selector", ".wf-row .name").text == "<script>window.__pwned=3</script>"
        assert js(driver, "return window.__pwned === undefined && document.scripts.length === 2")
        assert requested_urls(driver) == [page.as_uri()]


def big_trace_documents(traces: int, per_trace: int, big: int) -> list[dict]:
    docs = []
    for t in range(traces + 1):
        trace_id = f"1-6b{t:06x}-{t:024x}"
        count = big if t == traces else per_trace
        start = 1795000000.0 + t
        root = {
            "id": f"{t:08x}{0:08x}",
            "trace_id": trace_id,
            "name": "## handler",
            "type": "subsegment",
            "parent_id": "f" * 16,
            "start_time": start,
            "end_time": start + 0.5,
            "annotations": {"order_id": f"order-{t}", "ColdStart": t == 0},
        }
        docs.append(root)
        for i in range(1, count):
            docs.append(
                {
                    "id": f"{t:08x}{i:08x}",
                    "trace_id": trace_id,
                    "name": f"step {i}",
                    "type": "subsegment",
                    "parent_id": root["id"],
                    "start_time": start + i * 1e-5,
                    "end_time": start + i * 1e-5 + 1e-4,
                    "fault": i % 97 == 0,
                }
            )
    return docs


def test_a_thousand_traces_and_ten_thousand_subsegments_stay_virtual(tmp_path, assert_valid):
    """1,000 traces of 10 entities and one of 10,000: the list and the waterfall keep only the rows
    in view in the DOM, scrolling reaches the last ones, and the filter finds one trace among them."""
    docs = big_trace_documents(1000, 10, 10_000)
    assert_valid(docs[:50] + docs[-50:])
    page = write_page(tmp_path / "big.html", docs, title="scale")
    with chromium() as driver:
        driver.get(page.as_uri())
        assert driver.find_element("tag name", "body").get_attribute("data-ready") == "1"
        assert len(driver.find_elements("css selector", ".trace-row")) < 100
        js(driver, "var s = document.getElementById('trace-list'); s.scrollTop = s.scrollHeight; s.onscroll();")
        last = f"1-6b{0:06x}-{0:024x}"  # the oldest trace is last in the list
        selector = f'[data-trace="{last}"]'
        assert js(
            driver,
            "return new Promise(function (r) { requestAnimationFrame(function () {"
            f" r(!!document.querySelector('{selector}')); }}); }});",
        )
        type_filter(driver, "order_id=order-1000")
        rows = driver.find_elements("css selector", ".trace-row")
        assert len(rows) == 1
        rows[0].click()
        assert "10000 entities" in driver.find_element("css selector", "#waterfall h2").text
        assert len(driver.find_elements("css selector", ".wf-row")) < 100
        found = js(
            driver,
            """
            var s = document.getElementById('wf-list'); s.scrollTop = s.scrollHeight;
            return new Promise(function (r) { s.onscroll(); requestAnimationFrame(function () {
              var names = Array.prototype.map.call(
                document.querySelectorAll('.wf-row .name'), function (e) { return e.textContent; });
              r([names.length, names.indexOf('step 9999') >= 0]); }); });""",
        )
        assert found[0] < 100 and found[1]
        screenshot(driver, "trace-page-scale.png")
        assert requested_urls(driver) == [page.as_uri()]


def test_bad_times_do_not_blank_the_page(tmp_path):
    """A saved trace with `"start_time": NaN` (Python's JSON reader accepts it) and another at 1e20:
    `view` writes a page that draws every trace and entity, marks the bad times, and logs no error."""
    base = {"trace_id": "1-6b000000-00000000000000000000abcd", "type": "subsegment"}
    docs = [
        {
            **base,
            "id": "a" * 16,
            "name": "## handler",
            "parent_id": "f" * 16,
            "start_time": 1795400000.0,
            "end_time": 1795400000.3,
        },
        {
            **base,
            "id": "b" * 16,
            "name": "nan start",
            "parent_id": "a" * 16,
            "start_time": float("nan"),
            "end_time": 1795400000.1,
        },
        {**base, "id": "c" * 16, "name": "far future", "parent_id": "a" * 16, "start_time": 1e20, "end_time": 1e20},
        {"id": "d" * 16, "trace_id": "1-6b000001-00000000000000000000abcd", "name": "only bad", "start_time": 1e20},
    ]
    (tmp_path / "t.json").write_text(json.dumps(docs))  # writes NaN, as Python's json does by default
    assert "NaN" in (tmp_path / "t.json").read_text()
    page = tmp_path / "p.html"
    proc = subprocess.run(
        [sys.executable, "-m", "lambda_observe.cli", "view", str(tmp_path / "t.json"), "--html", str(page)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    with chromium() as driver:
        driver.get(page.as_uri())
        assert driver.find_element("tag name", "body").get_attribute("data-ready") == "1"
        assert severe_console(driver) == []
        assert len(driver.find_elements("css selector", ".trace-row")) == 2
        driver.find_element("css selector", '[data-trace="1-6b000000-00000000000000000000abcd"]').click()
        rows = driver.find_elements("css selector", ".wf-row")
        assert len(rows) == 3
        notes = [n.get_attribute("data-note") for n in driver.find_elements("css selector", ".wf-row [data-note]")]
        assert sorted(notes) == ["bad start_time 1e+20; bad end_time 1e+20", "bad start_time nan"]
        assert (
            "(no time)"
            in driver.find_element("css selector", '[data-trace="1-6b000001-00000000000000000000abcd"]').text
        )


def test_many_remote_hosts_keep_the_map_small(tmp_path):
    """1,000 traces, each calling 10 different remote hosts: the map draws at most 30 nodes (the
    busiest, the rest grouped as "other hosts (K)") and at most 30 edges, and the filter still works."""
    docs = []
    for t in range(1000):
        trace_id = f"1-6b{t:06x}-{t:024x}"
        root = {
            "id": f"{t:08x}{0:08x}",
            "trace_id": trace_id,
            "name": "## handler",
            "type": "subsegment",
            "parent_id": "f" * 16,
            "start_time": 1795000000.0 + t,
            "end_time": 1795000000.5 + t,
            "annotations": {"order_id": f"order-{t}"},
        }
        docs.append(root)
        for i in range(1, 11):
            host = f"h{t * 10 + i}.example.com"
            docs.append(
                {
                    "id": f"{t:08x}{i:08x}",
                    "trace_id": trace_id,
                    "name": host,
                    "type": "subsegment",
                    "parent_id": root["id"],
                    "namespace": "remote",
                    "start_time": root["start_time"] + i * 1e-3,
                    "end_time": root["start_time"] + i * 1e-3 + 1e-3,
                    "http": {"request": {"method": "GET", "url": f"https://{host}/x"}, "response": {"status": 200}},
                }
            )
    page = write_page(tmp_path / "hosts.html", docs, title="hosts")
    with chromium() as driver:
        driver.get(page.as_uri())
        assert driver.find_element("tag name", "body").get_attribute("data-ready") == "1"
        nodes = driver.find_elements("css selector", "#service-map [data-node]")
        assert 2 <= len(nodes) <= 30
        assert len(driver.find_elements("css selector", "#service-map [data-edge]")) <= 30
        other = driver.find_elements("css selector", '#service-map [data-node="other"]')
        assert len(other) == 1 and "other hosts (9972)" in other[0].text
        type_filter(driver, "order_id=order-7")
        assert len(driver.find_elements("css selector", ".trace-row")) == 1
        assert len(driver.find_elements("css selector", "#service-map [data-node]")) == 11  # function + 10 hosts


def test_filter_values_with_spaces_and_numbers(tmp_path):
    """The filter box matches `note="two words"` and treats 42 and 42.0 as the same number."""
    base = {"type": "subsegment", "parent_id": "f" * 16, "name": "## handler"}
    docs = [
        {
            **base,
            "id": "a" * 16,
            "trace_id": "1-6b000000-00000000000000000000000a",
            "start_time": 1795400000.0,
            "end_time": 1795400000.1,
            "annotations": {"note": "two words", "amount": 42},
        },
        {
            **base,
            "id": "b" * 16,
            "trace_id": "1-6b000001-00000000000000000000000b",
            "start_time": 1795400001.0,
            "end_time": 1795400001.1,
            "annotations": {"note": "two", "amount": 7},
        },
    ]
    page = write_page(tmp_path / "f.html", docs)
    with chromium() as driver:
        driver.get(page.as_uri())
        for text, expected in (
            ('note="two words"', ["a"]),
            ("amount=42.0", ["a"]),
            ("amount=7", ["b"]),
            ("note=two", ["b"]),
        ):
            type_filter(driver, text)
            shown = [r.get_attribute("data-trace")[-1] for r in driver.find_elements("css selector", ".trace-row")]
            assert shown == expected, (text, shown)
