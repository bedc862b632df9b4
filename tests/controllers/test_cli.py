"""``ccm controller`` argument handling (the process itself is run in test_e2e_lifecycle.py)."""

from __future__ import annotations

import argparse

import pytest

from ccm.controllers import cli


@pytest.mark.parametrize(("text", "seconds"), [
    ("15s", 15.0), ("1m30s", 90.0), ("500ms", 0.5), ("2h", 7200.0), ("3", 3.0), ("0.25", 0.25),
])
def test_parse_duration(text, seconds):
    assert cli.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "15x", "s", "1m 30s", "-5"])
def test_parse_duration_rejects(text):
    with pytest.raises(argparse.ArgumentTypeError):
        cli.parse_duration(text)


def parse(*argv):
    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    return p.parse_args(list(argv))


def test_defaults_follow_upstream():
    args = parse("--cloud-provider", "fake")
    assert (args.cluster_name, args.concurrent_service_syncs) == ("kubernetes", 1)
    assert (args.leader_elect_lease_duration, args.leader_elect_renew_deadline, args.leader_elect_retry_period) == (
        15.0, 10.0, 2.0)
    assert (args.leader_elect_resource_namespace, args.leader_elect_resource_name) == (
        "kube-system", "cloud-controller-manager")
    assert args.resync_period is None and args.port is None and args.kubeconfig is None


def test_provider_options_merge_cloud_config_and_flags(tmp_path):
    conf = tmp_path / "cloud.conf"
    conf.write_text('[Global]\n# comment\nregion = eu-west-1\nzone="a"\n')
    args = parse("--cloud-provider", "aws", "--cloud-config", str(conf), "--aws-endpoint-url", "http://127.0.0.1:5000",
                 "--provider-option", "zone=b", "--resync-period", "5m", "--load-balancer-class", "x/y")
    assert cli.provider_options(args) == {"region": "eu-west-1", "zone": "b", "aws-endpoint-url": "http://127.0.0.1:5000",
                                          "cloud-config": str(conf)}
    assert args.resync_period == 300.0 and args.load_balancer_class == "x/y"


def test_aws_region_flag_reaches_the_provider_options():
    args = parse("--cloud-provider", "aws", "--aws-region", "eu-central-1")
    assert cli.provider_options(args) == {"aws-region": "eu-central-1"}


def test_bad_provider_option_is_an_argument_error():
    with pytest.raises(SystemExit):
        parse("--cloud-provider", "fake", "--provider-option", "novalue")
