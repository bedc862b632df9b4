"""``ccm controller`` argument handling (the process itself is run in test_e2e_lifecycle.py)."""

from __future__ import annotations

import argparse
import re

import pytest

from ccm.controllers import cli
from ccm.kube.flags import parse_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("15s", 15.0), ("1m30s", 90.0), ("500ms", 0.5), ("2h", 7200.0), ("3", 3.0), ("0.25", 0.25),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "15x", "s", "1m 30s", "-5"])
def test_parse_duration_rejects(text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse_duration(text)


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
    assert args.resync_period is None and args.kubeconfig is None
    assert (args.secure_port, args.bind_address, args.leader_elect, args.kube_api_qps, args.kube_api_burst) == (
        10258, "0.0.0.0", True, 20.0, 30)
    assert (args.node_monitor_period, args.node_status_update_frequency, args.concurrent_node_syncs) == (
        5.0, 300.0, 1)
    assert args.authorization_always_allow_paths == "/healthz,/readyz,/livez" and args.controllers is None


def test_provider_options_merge_cloud_config_and_flags(tmp_path):
    conf = tmp_path / "cloud.conf"
    conf.write_text('[Global]\n# comment\nvip-pool = 127.0.9.0/24\nstate-file="/a"\n')
    args = parse("--cloud-provider", "local", "--cloud-config", str(conf), "--aws-endpoint-url", "http://127.0.0.1:5000",
                 "--provider-option", "state-file=/b", "--resync-period", "5m", "--load-balancer-class", "x/y")
    assert cli.provider_options(args) == {"vip-pool": "127.0.9.0/24", "state-file": "/b",
                                          "aws-endpoint-url": "http://127.0.0.1:5000"}
    assert args.resync_period == 300.0 and args.load_balancer_class == "x/y"


def test_aws_cloud_config_uses_upstream_keys(tmp_path):
    conf = tmp_path / "cloud.conf"
    conf.write_text('[Global]\nZone = eu-west-1b\nvpc = "vpc-0abc" ; a comment\nKubernetesClusterTag = prod\n'
                    "NodeIPFamilies = ipv4\nNodeIPFamilies = ipv6\nDisableSecurityGroupIngress = false\n")
    args = parse("--cloud-provider", "aws", "--cloud-config", str(conf))
    assert cli.provider_options(args) == {"aws-zone": "eu-west-1b", "aws-vpc-id": "vpc-0abc",
                                          "aws-cluster-id": "prod", "aws-node-ip-families": "ipv4,ipv6"}


@pytest.mark.parametrize(("text", "message"), [
    ("[Global]\nKubernetesClusterTagg = x\n", "unknown key 'kubernetesclustertagg' in [Global]"),
    ("[Global]\nRoleARN = arn:aws:iam::1:role/r\n", "RoleARN = arn:aws:iam::1:role/r cannot be honoured"),
    ("[Global]\nElbSecurityGroup = sg-1\n", "ElbSecurityGroup = sg-1 cannot be honoured"),
    ("[Global]\nDisableSecurityGroupIngress = true\n", "DisableSecurityGroupIngress = true cannot be honoured"),
    ('[ServiceOverride "1"]\nService = ec2\n', '[ServiceOverride "1"] is not supported'),
    ("[Other]\nx = 1\n", "unknown section [other]"),
    ("VPC = x\n", "outside any [section]"),
    ('[Global]\nVPC = "unterminated\n', "unterminated quote"),
])
def test_aws_cloud_config_errors_name_the_key(tmp_path, text, message):
    conf = tmp_path / "cloud.conf"
    conf.write_text(text)
    with pytest.raises(ValueError, match=re.escape(message)):
        cli.provider_options(parse("--cloud-provider", "aws", "--cloud-config", str(conf)))


@pytest.mark.parametrize(("flag", "value"), [("--leader-elect", True), ("--leader-elect=true", True),
                                             ("--leader-elect=false", False), ("--leader-elect=0", False),
                                             ("--leader-elect=T", True)])
def test_go_bool_forms(flag, value):
    assert parse("--cloud-provider", "fake", flag).leader_elect is value


def test_aws_region_flag_reaches_the_provider_options():
    args = parse("--cloud-provider", "aws", "--aws-region", "eu-central-1")
    assert cli.provider_options(args) == {"aws-region": "eu-central-1"}


def test_gcp_flags_reach_the_provider_options():
    args = parse("--cloud-provider", "gcp", "--gcp-endpoint-url", "http://127.0.0.1:1", "--gcp-project", "p",
                 "--gcp-region", "europe-west1")
    assert cli.provider_options(args) == {"gcp-endpoint-url": "http://127.0.0.1:1", "gcp-project": "p",
                                          "gcp-region": "europe-west1"}


def test_azure_json_and_the_azure_flags_reach_the_provider_options(tmp_path, caplog):
    conf = tmp_path / "azure.json"
    conf.write_text('{"subscriptionId": "s", "useManagedIdentityExtension": false, "maximumLoadBalancerRuleCount": 250,'
                    ' "SecurityGroupName": "nsg", "securityGroupNmae": "typo", "vnetName": null}')
    args = parse("--cloud-provider", "azure", "--cloud-config", str(conf), "--azure-endpoint-url", "https://127.0.0.1:1",
                 "--azure-ca-file", "/tmp/ca.pem")
    assert cli.provider_options(args) == {
        "subscriptionId": "s", "useManagedIdentityExtension": "false", "maximumLoadBalancerRuleCount": "250",
        "securityGroupName": "nsg", "azure-endpoint-url": "https://127.0.0.1:1", "azure-ca-file": "/tmp/ca.pem"}
    # upstream ignores an unknown key; here it is named in a warning (and dropped), never an error
    assert f"{conf}: unknown azure cloud-config key 'securityGroupNmae'" in caplog.text
    conf.write_text('{"subscriptionId": ')
    with pytest.raises(ValueError, match="not valid JSON"):
        cli.provider_options(args)
    conf.write_text('["subscriptionId"]')
    with pytest.raises(ValueError, match="expected a JSON object"):
        cli.provider_options(args)


def test_openstack_cloud_conf_reaches_the_provider_options_and_flags_win(tmp_path):
    from providers.openstack.config import load_config

    conf = tmp_path / "cloud.conf"
    conf.write_text('[Global]\nauth-url = https://keystone.example/v3\nusername = ccm\npassword = "s3cret"\n'
                    '[LoadBalancer]\nlb-method = LEAST_CONNECTIONS\n[LoadBalancerClass "dmz"]\nfloating-subnet-id = s1\n'
                    '[BlockStorage]\nbs-version = v3\n')
    args = parse("--cloud-provider", "openstack", "--cloud-config", str(conf), "--provider-option",
                 "lb-method=SOURCE_IP", "--provider-option", "loadbalancerclass.dmz.floating-network-id=n1")
    options = cli.provider_options(args)
    assert options == {"auth-url": "https://keystone.example/v3", "username": "ccm", "password": "s3cret",
                       "lb-method": "SOURCE_IP", "loadbalancerclass.dmz.floating-subnet-id": "s1",
                       "loadbalancerclass.dmz.floating-network-id": "n1"}
    config = load_config(options)
    assert config.lb.lb_method == "SOURCE_IP" and config.classes["dmz"].floating_network_id == "n1"
    conf.write_text("[Global]\nauth-url = x\n[LoadBalancer]\nlb-methd = SOURCE_IP\n")
    with pytest.raises(ValueError, match=rf"{conf}: \[LoadBalancer\] lb-methd: unknown key"):
        cli.provider_options(args)


def test_bad_provider_option_is_an_argument_error():
    with pytest.raises(SystemExit):
        parse("--cloud-provider", "fake", "--provider-option", "novalue")
