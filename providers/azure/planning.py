"""The planning capability: what the next ensure would send (live), or everything from scratch (offline)."""

from __future__ import annotations

from providers.azure.clients import translated_errors
from providers.azure.desired import desired
from providers.azure.loadbalancer import AzureLoadBalancer
from providers.azure.names import network_id, parse_id, vm_id_of
from providers.azure.observe import Observed
from providers.azure.plan import plan_ensure
from providers.azure.security import rules_for
from providers.azure.settings import settings_from_request
from providers.port import LoadBalancerRequest, Plan, Planner


class AzurePlanner(Planner):
    def __init__(self, lb: AzureLoadBalancer) -> None:
        self.lb = lb

    def plan_offline(self, request: LoadBalancerRequest) -> Plan:
        """Everything from an empty subscription: the security group exists (it is the cluster's, from
        the config) and every node's NIC joins the pool (NICs shown as ``<nic of NODE>``)."""
        config = self.lb.config
        settings = settings_from_request(request)
        want = desired(request, settings, config)
        nics = {}
        if config.backend_pool_type == "nodeIPConfiguration":
            for node in request.nodes:
                vm = vm_id_of(node.provider_id) or ""
                group = parse_id(vm).get("group") or config.resource_group
                nic_id = network_id(config.subscription_id, group, "networkInterfaces", f"<nic of {node.name}>")
                nics[vm.lower()] = {"id": nic_id, "properties": {"ipConfigurations": [
                    {"name": "<primary>", "properties": {"primary": True}}]}}
        nsg = {"name": config.security_group_name, "properties": {"securityRules": []}} \
            if config.security_group_name else None
        observed = Observed(lbs={False: None, True: None}, public_ips={}, tagged_ips=(), security_group=nsg,
                            nics=nics if config.backend_pool_type == "nodeIPConfiguration" else None)
        rules = rules_for(request, settings, internal=want.internal, warnings=[])
        planned = plan_ensure(self.lb.context(request), want, observed, request.nodes, rules=rules,
                              security_group=config.security_group_name or None)
        return tuple(planned.operations)

    def plan_live(self, request: LoadBalancerRequest) -> Plan:
        settings = settings_from_request(request)
        with translated_errors(request.key, "plan"):
            return tuple(self.lb.prepare(request, settings).plan.operations)
