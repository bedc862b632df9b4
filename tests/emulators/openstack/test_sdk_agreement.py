"""The emulator's request tables agree with openstacksdk's resource definitions.

Every attribute the emulator accepts on a create or update is one openstacksdk defines for that
resource, except a short, named list of attributes Octavia/Neutron take that the SDK does not model
(an SDK upgrade that adds one, or an emulator change that adds another, shows up here).
"""

from __future__ import annotations

import pytest

from emulators.openstack import network, octavia_schema
from emulators.openstack.sdkcheck import ACTIONS, SdkChecker, known

#: attributes the services take that openstacksdk 4.x does not define
NOT_IN_SDK = {
    "octavia.listeners": {"client_authentication", "client_ca_tls_container_ref", "client_crl_container_ref"},
    "octavia.pools": {"healthmonitor", "tls_container_ref"},
    "octavia.members": {"request_sriov"},
    "octavia.healthmonitors": {"domain_name", "http_version"},
    "octavia.quotas": {"healthmonitor", "l7policy", "l7rule", "loadbalancer"},
    "neutron.networks": {"tenant_id"},
}
SCHEMAS = {
    "octavia.loadbalancers": octavia_schema.LOADBALANCER, "octavia.listeners": octavia_schema.LISTENER,
    "octavia.pools": octavia_schema.POOL, "octavia.members": octavia_schema.MEMBER,
    "octavia.healthmonitors": octavia_schema.HEALTHMONITOR, "octavia.quotas": octavia_schema.QUOTA,
    **{f"neutron.{name}": schema for name, schema in network.SCHEMAS.items()},
}


@pytest.mark.parametrize("action", sorted(SCHEMAS))
def test_emulator_attributes_are_sdk_attributes(action):
    accepted = {a.name for a in SCHEMAS[action].attrs}
    assert accepted - known(ACTIONS[action][1]) == NOT_IN_SDK.get(action, set())


def test_checker_walks_a_fully_populated_create():
    body = {"loadbalancer": {"vip_subnet_id": "x", "listeners": [{"protocol": "TCP", "protocol_port": 80, "default_pool": {
        "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN", "members": [{"address": "10.0.0.1", "protocol_port": 1,
                                                                        "colour": "red"}],
        "healthmonitor": {"type": "TCP", "delay": 1, "timeout": 1, "max_retries": 1, "shade": "dark"}}}]}}
    problems = SdkChecker().check("octavia.loadbalancers.create", body)
    assert problems == [
        "loadbalancer.listeners[0].default_pool.members[0].colour is not an attribute of openstack "
        "openstack.load_balancer.v2.member.Member",
        "loadbalancer.listeners[0].default_pool.healthmonitor.shade is not an attribute of openstack "
        "openstack.load_balancer.v2.health_monitor.HealthMonitor",
    ]
    assert SdkChecker().check("octavia.members.batch", {"members": [{"address": "a", "protocol_port": 1,
                                                                      "zone": "z"}]}) == [
        "members[0].zone is not an attribute of openstack openstack.load_balancer.v2.member.Member"]
