"""The generated reference (docs/annotations.md) and the ``ccm annotations`` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ccm.annotations import aws, common, gcp, registry
from ccm.cli import main
from ccm.reference import render

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "annotations.md"


def test_committed_docs_are_up_to_date():
    assert DOCS.read_text(encoding="utf-8") == render(), (
        "docs/annotations.md is stale: run `ccm annotations --write`")


def test_rendering_lists_every_annotation_once_grouped_by_provider():
    text = render()
    for ann in registry.all_annotations():
        assert text.count(f"| `{ann.key}` |") == 1, ann.key
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[:4] == ["## Common (every provider)", "## AWS", "## GCP", "## Azure"]
    assert "generated" in text.split("## ")[0]


def test_rows_show_type_default_create_only_and_notes():
    rows = {line.split(" | ")[0].strip("| `"): line for line in render().splitlines()
            if line.startswith("| `")}
    row = rows[aws.TYPE.key]
    assert "`nlb` \\| `external` \\| `nlb-ip`" in row  # pipes escaped inside the table
    assert "| `nlb` |" in row  # the example
    assert "| Classic ELB | yes | all | UP |" in row
    assert "| NLB |" in rows[aws.EIP_ALLOCATIONS.key] and "| CLB |" in rows[aws.CONNECTION_IDLE_TIMEOUT.key]
    assert "*Invalid: warn.*" in row
    assert "Also used by: `local`." in rows[aws.PROXY_PROTOCOL.key]
    assert "Deprecated alias: `cloud.google.com/load-balancer-type`." in rows[gcp.LOAD_BALANCER_TYPE.key]
    assert rows[aws.HEALTHCHECK_INTERVAL.key].count(" | ") == 8  # nine cells, none split by a stray pipe


def test_rows_say_what_each_provider_implements():
    rows = {line.split(" | ")[0].strip("| `"): line.split(" | ") for line in render().splitlines()
            if line.startswith("| `")}
    assert rows[aws.HEALTHCHECK_INTERVAL.key][7] == "aws: yes"
    assert rows[aws.NLB_TARGET_TYPE.key][7].startswith("aws: `instance` only")
    assert rows[aws.QUIC_ENABLED_PORTS.key][7] == "aws: recognised only"
    assert rows[aws.PROXY_PROTOCOL.key][7] == "aws: yes; local: yes"
    common_row = rows[common.LOAD_BALANCER_SOURCE_RANGES.key][7]
    assert "aws: yes" in common_row and "local: yes" in common_row
    assert rows[gcp.LOAD_BALANCER_TYPE.key][7] in ("gcp: no adapter yet", "gcp: recognised only") or \
        rows[gcp.LOAD_BALANCER_TYPE.key][7].startswith("gcp: ")


def test_sections_follow_what_the_annotations_configure():
    text = render()
    aws_part = text.split("\n## AWS\n")[1].split("\n## ")[0]
    sections = [line for line in aws_part.splitlines() if line.startswith("### ")]
    assert sections[0] == "### AWS: Load-balancer type and scheme"
    assert "### AWS: Health checks" in sections and "### AWS: Access logs" in sections
    health = aws_part.split("### AWS: Health checks")[1].split("### ")[0]
    assert f"`{aws.HEALTHCHECK_INTERVAL.key}`" in health


def test_rules_between_annotations_are_documented():
    text = render()
    for rule in registry.cross_checks():
        assert f"- {rule.doc}" in text


def test_check_passes_after_write(tmp_path, capsys):
    target = tmp_path / "docs" / "annotations.md"
    assert main(["annotations", "--write", "--file", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render()
    assert main(["annotations", "--check", "--file", str(target)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_check_fails_with_a_clear_message_when_stale(tmp_path, capsys):
    target = tmp_path / "annotations.md"
    target.write_text(render().replace("Classic ELB", "Classic LB"), encoding="utf-8")
    assert main(["annotations", "--check", "--file", str(target)]) == 1
    err = capsys.readouterr().err
    assert f"{target} is stale" in err
    assert "ccm annotations --write" in err
    assert "-| `service.beta.kubernetes.io/aws-load-balancer-type`" in err  # the diff shows the line


def test_check_fails_when_the_file_is_missing(tmp_path, capsys):
    assert main(["annotations", "--check", "--file", str(tmp_path / "nope.md")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_print_writes_the_reference_to_stdout(capsys):
    assert main(["annotations"]) == 0
    assert capsys.readouterr().out == render()


def test_entry_point_check_against_the_committed_file():
    proc = subprocess.run([sys.executable, "-m", "ccm", "annotations", "--check", "--file", str(DOCS)],
                          capture_output=True, text=True, timeout=60, cwd=REPO, check=False)
    assert proc.returncode == 0, proc.stderr
