"""cloud.conf: the keys ccm reads, the errors that name file, section and key, classes, flat options."""

from __future__ import annotations

import pytest

from providers.openstack.config import ConfigError, load_config, parse_cloud_config


def parse_config(text: str):
    return load_config(parse_cloud_config(text, "cloud.conf"))

GOOD = """
[Global]
auth-url = "https://keystone.example:5000/v3"
username = ccm
password = "s3cret"   # comment
tenant-name = k8s
domain-name = Default
region = RegionTwo

[LoadBalancer]
use-octavia = true
subnet-id = 0b7c8b02-6b6d-4dd0-8d2b-52df3b5b3c7a
floating-network-id = 7d3e1b5e-9c64-4a9e-8a3a-2a6f8e3a1c11
lb-method = LEAST_CONNECTIONS
lb-provider = ovn
create-monitor = true
monitor-delay = 7
monitor-timeout = 1m
internal-lb = false
enable-ingress-hostname = yes

[LoadBalancerClass "dmz"]
floating-subnet-id = 4f1c3a0e-0d0e-4d7a-9f86-2f0a4b1e6d22

[BlockStorage]
bs-version = v3
"""


def test_a_full_cloud_conf():
    config = parse_config(GOOD)
    kwargs = config.auth.connection_kwargs()
    assert kwargs["auth_type"] == "password" and kwargs["region_name"] == "RegionTwo"
    assert kwargs["auth"] == {"auth_url": "https://keystone.example:5000/v3", "username": "ccm", "password": "s3cret",
                              "project_name": "k8s", "user_domain_name": "Default", "project_domain_name": "Default"}
    lb = config.lb
    assert (lb.lb_method, lb.lb_provider, lb.create_monitor, lb.monitor_delay, lb.enable_ingress_hostname) == (
        "LEAST_CONNECTIONS", "ovn", True, 7, True)
    assert lb.monitor_timeout == 60  # upstream writes durations
    assert config.classes["dmz"].floating_subnet_id == "4f1c3a0e-0d0e-4d7a-9f86-2f0a4b1e6d22"
    assert "s3cret" not in repr(config)


@pytest.mark.parametrize(("text", "message"), [
    pytest.param(GOOD.replace("lb-method", "lb-methd"), r"\[LoadBalancer\] lb-methd: unknown key", id="typo"),
    pytest.param(GOOD + "\n[Global]\nzone = a\n", r"cloud.conf: \[Global\] zone: unknown key", id="unknown-global"),
    pytest.param(GOOD + "\n[Nope]\n", r"cloud.conf: unknown section \[nope\]", id="section"),
    pytest.param(GOOD + "\n[LoadBalancer]\npassword = x\n", r"\[LoadBalancer\] password: unknown key",
                 id="key-in-another-section"),
    pytest.param(GOOD + '\n[LoadBalancerClass "dmz"]\nlb-method = SOURCE_IP\n',
                 r'\[LoadBalancerClass "dmz"\] lb-method: unknown key', id="class-key"),
    pytest.param(GOOD.replace("create-monitor = true", "create-monitor = maybe"), "not a boolean", id="bool"),
    pytest.param(GOOD.replace("monitor-delay = 7", "monitor-delay = 0"), "at least 1", id="range"),
    pytest.param(GOOD + "\n[LoadBalancer]\nmanage-security-groups = true\n", "not implemented by ccm",
                 id="unimplemented"),
    pytest.param(GOOD.replace("use-octavia = true", "use-octavia = false"), "supports only true", id="fixed"),
    pytest.param(GOOD.replace("password", "#password"), "username .* and password", id="credentials"),
    pytest.param("[Global]\nusername = x\n", "auth-url is required", id="auth-url"),
    pytest.param("auth-url = x\n", r"outside any \[section\]", id="no-section"),
])
def test_errors_name_the_section_and_key(text, message):
    with pytest.raises(ValueError, match=message):  # ConfigError, or the shared gcfg reader's ValueError
        parse_config(text)


def test_application_credentials_and_flat_options():
    config = load_config({"auth-url": "http://k/v3", "application-credential-id": "abc",
                          "application-credential-secret": "s", "subnet-id": "x",
                          "openstack-lb-wait-initial": "0.5"})
    assert config.auth.connection_kwargs()["auth_type"] == "v3applicationcredential"
    assert config.waits.initial == 0.5 and config.lb.subnet_id == "x"
    base = {"auth-url": "http://k/v3", "username": "u", "password": "p"}
    with pytest.raises(ValueError, match="openstack provider: unknown option zone"):
        load_config({**base, "zone": "a"})
    with pytest.raises(ValueError, match="unknown option cloud-config"):  # the file is read by the controller
        load_config({**base, "cloud-config": "/etc/kubernetes/cloud.conf"})
    with pytest.raises(ConfigError, match=r'\[LoadBalancerClass "x"\] lb-method: unknown key'):
        load_config({**base, "loadbalancerclass.x.lb-method": "SOURCE_IP"})
    with pytest.raises(ConfigError, match=r"expected loadbalancerclass\.<class>\.<key>"):
        load_config({**base, "loadbalancerclass.subnet-id": "s"})
    with pytest.raises(ValueError, match="openstack-lb-wait-timeout='0': must be > 0"):
        load_config({**base, "openstack-lb-wait-timeout": "0"})
