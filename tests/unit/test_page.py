"""The trace page's data: hostile documents never become markup, and the embedded JSON round-trips."""

from __future__ import annotations

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_observe.local.model import build_model
from lambda_observe.local.page import embed_json, render_page

HOSTILE = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["</script>", "</SCRIPT ", "<script>alert(1)</script>", "<!--", "]]>", "\u2028\u2029", "&lt;", "\ud800"]
    ),
)
VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), HOSTILE),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(HOSTILE, inner, max_size=4)),
    max_leaves=20,
)


def document(name: str, annotations: dict, metadata: object, n: int) -> dict:
    return {
        "id": f"{n:016x}",
        "trace_id": "1-6b000000-00000000000000000000000a",
        "name": name,
        "start_time": 1795400000.0 + n,
        "end_time": 1795400000.5 + n,
        "type": "subsegment",
        "parent_id": "ffffffffffffffff" if n == 0 else f"{0:016x}",
        "annotations": annotations,
        "metadata": {"default": metadata},
        "fault": n == 1,
    }


def data_block(page: str) -> str:
    match = re.search(r'<script type="application/json" id="trace-data">(.*?)</script>', page, re.S)
    assert match, "no data block"
    return match.group(1)


@settings(max_examples=150, deadline=None)
@given(
    names=st.lists(HOSTILE, min_size=1, max_size=3),
    annotations=st.dictionaries(HOSTILE, VALUES, max_size=3),
    metadata=VALUES,
    title=HOSTILE,
)
def test_hostile_documents_stay_data(names, annotations, metadata, title):
    """Markup, `</script>`, line separators and lone surrogates in names, annotations, metadata or the
    title never reach the page as markup: the data block has no `<`, the page has exactly its own two
    script elements, and the embedded JSON parses back to the model."""
    docs = [document(name, annotations, metadata, i) for i, name in enumerate(names)]
    page = render_page(docs, title=title)
    page.encode("utf-8")  # writable as UTF-8 (no lone surrogates)
    block = data_block(page)
    assert "<" not in block and ">" not in block and "&" not in block
    assert "\u2028" not in block and "\u2029" not in block
    assert len(re.findall(r"<script", page, re.I)) == 2
    assert len(re.findall(r"</script", page, re.I)) == 2
    escaped = (
        title.encode("utf-8", "replace")
        .decode()
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )
    assert f"<title>{escaped}</title>" in page
    parsed = json.loads(block)
    model = build_model(docs)
    assert parsed["traces"] == json.loads(embed_json(model))["traces"]
    assert [r["name"] for r in parsed["traces"][0]["rows"]] == [
        json.loads(embed_json(n)) for n in [r["name"] for r in model["traces"][0]["rows"]]
    ]


def test_embed_json_escapes_what_could_end_the_element():
    """`</script>` becomes `\\u003c/script\\u003e` inside the JSON string; JSON.parse-equivalent loads give it back."""
    text = embed_json({"k": "</script><script>x()</script>&\u2028"})
    assert text == '{"k":"\\u003c/script\\u003e\\u003cscript\\u003ex()\\u003c/script\\u003e\\u0026\\u2028"}'
    assert json.loads(text) == {"k": "</script><script>x()</script>&\u2028"}


def test_model_statuses_cold_start_and_map():
    """A locally captured trace: the handler is the function node, SQL and HTTP calls are nodes with
    edges from it, the 500 call is a fault, the cold start is flagged."""
    base = {"trace_id": "1-6b000000-00000000000000000000000b", "type": "subsegment"}
    docs = [
        {
            **base,
            "id": "a" * 16,
            "name": "## handler",
            "parent_id": "f" * 16,
            "start_time": 10.0,
            "end_time": 11.0,
            "annotations": {"ColdStart": True, "Service": "shop"},
            "fault": True,
        },
        {
            **base,
            "id": "b" * 16,
            "name": "orders.db",
            "parent_id": "a" * 16,
            "start_time": 10.1,
            "end_time": 10.2,
            "namespace": "remote",
            "sql": {"database_type": "sqlite3"},
        },
        {
            **base,
            "id": "c" * 16,
            "name": "api.example.com",
            "parent_id": "a" * 16,
            "start_time": 10.3,
            "end_time": 10.9,
            "namespace": "remote",
            "fault": True,
            "http": {"request": {"url": "https://api.example.com/pay"}, "response": {"status": 500}},
        },
        {
            **base,
            "id": "d" * 16,
            "name": "DynamoDB",
            "parent_id": "a" * 16,
            "start_time": 10.4,
            "end_time": 10.5,
            "namespace": "aws",
            "throttle": True,
            "error": True,
            "aws": {"operation": "PutItem"},
        },
    ]
    model = build_model(docs)
    trace = model["traces"][0]
    assert trace["s"] == "fault" and trace["cold"] is True
    assert [(r["d"], r["name"], r["s"]) for r in trace["rows"]] == [
        (0, "## handler", "fault"),
        (1, "orders.db", "ok"),
        (1, "api.example.com", "fault"),
        (1, "DynamoDB", "throttle"),
    ]
    kinds = sorted((v["kind"], v["label"]) for v in model["nodes"].values())
    assert kinds == [("aws", "DynamoDB"), ("function", "shop"), ("remote", "api.example.com"), ("sql", "orders.db")]
    assert sorted((e[1].split(":")[0], e[2]) for e in trace["edges"]) == [
        ("aws", "throttle"),
        ("remote", "fault"),
        ("sql", "ok"),
    ]


def test_model_of_a_trace_as_x_ray_returns_it(assert_valid):
    """A trace shaped as BatchGetTraces returns it from Lambda: the AWS::Lambda segment, the function's
    segment with Initialization and the library's subsegments nested, an inferred DynamoDB segment.
    The map has the Lambda service, the function and DynamoDB (the inferred segment adds no node)."""
    tid = "1-6b000000-00000000000000000000000c"
    lambda_seg = {
        "id": "1" * 16,
        "trace_id": tid,
        "name": "orders",
        "origin": "AWS::Lambda",
        "start_time": 100.0,
        "end_time": 101.0,
    }
    function_seg = {
        "id": "2" * 16,
        "trace_id": tid,
        "name": "orders",
        "origin": "AWS::Lambda::Function",
        "parent_id": "1" * 16,
        "start_time": 100.01,
        "end_time": 100.99,
        "subsegments": [
            {"id": "3" * 16, "name": "Initialization", "start_time": 99.5, "end_time": 100.0},
            {
                "id": "4" * 16,
                "name": "## handler",
                "start_time": 100.02,
                "end_time": 100.9,
                "annotations": {"ColdStart": True},
                "subsegments": [
                    {
                        "id": "5" * 16,
                        "name": "DynamoDB",
                        "namespace": "aws",
                        "start_time": 100.1,
                        "end_time": 100.3,
                        "aws": {"operation": "PutItem"},
                    }
                ],
            },
        ],
    }
    inferred = {
        "id": "6" * 16,
        "trace_id": tid,
        "name": "DynamoDB",
        "origin": "AWS::DynamoDB::Table",
        "parent_id": "5" * 16,
        "inferred": True,
        "start_time": 100.1,
        "end_time": 100.3,
    }
    docs = [lambda_seg, function_seg, inferred]
    assert_valid(docs)
    model = build_model(docs)
    trace = model["traces"][0]
    assert [(r["d"], r["name"]) for r in trace["rows"]] == [
        (0, "orders"),
        (1, "orders"),
        (2, "Initialization"),
        (2, "## handler"),
        (3, "DynamoDB"),
        (4, "DynamoDB"),
    ]
    assert trace["cold"] is True
    assert sorted((v["kind"], v["label"]) for v in model["nodes"].values()) == [
        ("aws", "DynamoDB"),
        ("function", "orders"),
        ("service", "orders"),
    ]
    kinds = {k: v["kind"] for k, v in model["nodes"].items()}
    assert sorted((kinds[a], kinds[b]) for a, b, _ in trace["edges"]) == [("function", "aws"), ("service", "function")]
