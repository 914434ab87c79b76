"""The SAM templates are checked by cfn-lint, a real tool (and a broken one is caught)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted(ROOT.glob("examples/*/template.yaml"))


def cfn_lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(path)], capture_output=True, text=True, timeout=180
    )


def test_examples_have_templates():
    """orders and sqs-consumer ship SAM templates."""
    assert {p.parent.name for p in TEMPLATES} >= {"orders", "sqs-consumer"}


@pytest.mark.parametrize("template", TEMPLATES, ids=[p.parent.name for p in TEMPLATES])
def test_template_passes_cfn_lint(template):
    """cfn-lint reports nothing."""
    proc = cfn_lint(template)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("template", TEMPLATES, ids=[p.parent.name for p in TEMPLATES])
def test_template_shape(template):
    """Tracing Active behind a parameter's condition, the idempotency table with TTL, X-Ray IAM."""
    text = template.read_text()
    assert "!If [TracingOn, Active, PassThrough]" in text
    assert "LAMBDA_OBSERVE_TRACING: !If [TracingOn" in text
    assert "AttributeName: expiration" in text and "Enabled: true" in text
    assert "xray:PutTraceSegments" in text
    assert "AWS::Serverless::LayerVersion" in text
    if template.parent.name == "orders":
        assert "TracingEnabled: !If [TracingOn, true, false]" in text


def test_cfn_lint_catches_a_broken_template(tmp_path):
    """A template with an invalid table billing mode fails the same check."""
    broken = tmp_path / "template.yaml"
    text = next(p for p in TEMPLATES if p.parent.name == "orders").read_text()
    broken.write_text(text.replace("BillingMode: PAY_PER_REQUEST", "BillingMode: PAY_PER_REQUESTX", 1))
    assert cfn_lint(broken).returncode != 0


def test_templates_are_yaml():
    """The templates parse (with CloudFormation tags ignored)."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    for template in TEMPLATES:
        assert "Resources" in yaml.load(template.read_text(), Loader=Loader)
