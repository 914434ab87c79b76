"""The SAM alarm example on the Metrics page is a template cfn-lint accepts, and its alarms name
the dimensions the EMF lines really carry."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from lambda_observe import add_dimension, add_metric, traced
from lambda_observe.testing import LambdaContext
from tests.integration.test_templates import cfn_lint

PAGE = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def sam_example() -> str:
    (block,) = re.findall(r"```yaml\n(.*?)```", PAGE.read_text(), re.DOTALL)
    return block


def test_the_alarm_example_passes_cfn_lint(tmp_path):
    """cfn-lint reports nothing on the page's SAM template."""
    path = tmp_path / "template.yaml"
    path.write_text(sam_example())
    proc = cfn_lint(path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_alarms_match_the_lines(lambda_env, monkeypatch, capsys):
    """Each alarm's namespace, metric and dimension names are those of a line the documented handler writes."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: f"<{suffix}>")
    template = yaml.load(sam_example(), Loader=Loader)  # SafeLoader, with a stub for SAM tags
    monkeypatch.setenv("LAMBDA_OBSERVE_METRICS_NAMESPACE", "Shop")

    @traced(service="orders")
    def handler(event, context):
        add_dimension("channel", "web")
        add_metric("PaymentRefused", 1)

    handler({}, LambdaContext())
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith('{"_aws"')]
    written = {
        (d["Namespace"], m["Name"], tuple(sorted(names)))
        for line in lines
        for d in line["_aws"]["CloudWatchMetrics"]
        for m in d["Metrics"]
        for names in d["Dimensions"]
    }
    alarms = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert len(alarms) == 2
    for alarm in alarms:
        key = (alarm["Namespace"], alarm["MetricName"], tuple(sorted(d["Name"] for d in alarm["Dimensions"])))
        assert key in written
