"""A handler for the trace page tests: a SQL call, an HTTP call whose status changes per invocation
(200, 500, 429, 404), and markup in an annotation, in metadata and in an exception message."""

import http.client
import os
import sqlite3

from lambda_observe import add_metadata, annotate, patch, subsegment, traced

patch("httplib", "sqlite3")
COUNT = {"n": 0}
STATUS = [200, 500, 429, 404]


@traced(service="shop")
def handler(event, context):
    n = COUNT["n"] = COUNT["n"] + 1
    annotate("order_id", f"order-{n}")
    conn = sqlite3.connect(os.environ["SHOP_DB"])
    try:
        conn.execute("select 1")
    finally:
        conn.close()
    host, port = os.environ["PAYMENTS"].split(":")
    client = http.client.HTTPConnection(host, int(port), timeout=5)
    client.request("POST", f"/charge?status={STATUS[(n - 1) % 4]}")
    status = client.getresponse().status
    client.close()
    with subsegment("<script>window.__pwned=1</script>", note="<img src=x onerror=alert(1)>"):
        add_metadata("payload", "</script><script>window.__pwned=2</script>")
        if status >= 500:
            raise RuntimeError(f"payments answered {status} <script>")
    return {"status": status}
