"""The planning capability: what the next ensure would send (live), or everything from scratch (offline)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from providers.azure.clients import translated_errors
from providers.azure.config import PLACEHOLDERS, AzureConfig
from providers.azure.desired import desired
from providers.azure.loadbalancer import AzureLoadBalancer
from providers.azure.names import network_id, parse_id, vm_id_of
from providers.azure.observe import Observed
from providers.azure.plan import Context, plan_ensure
from providers.azure.security import rules_for
from providers.azure.settings import settings_from_request
from providers.port import LoadBalancerRequest, Node, Plan, Planner


def with_nodes_group(config: AzureConfig, nodes: Iterable[Node]) -> AzureConfig:
    """Offline: a placeholder subscription (resource group) is the one the nodes' VM IDs agree on.

    The cloud config's ``resourceGroup`` is the nodes' (upstream: the group the cluster's VMs are in).
    """
    vms = [parse_id(vm) for node in nodes if (vm := vm_id_of(node.provider_id))]
    subscriptions = {vm["subscription"] for vm in vms}
    if config.subscription_id == PLACEHOLDERS["subscriptionId"] and len(subscriptions) == 1:
        config = dataclasses.replace(config, subscription_id=subscriptions.pop())
    groups = {vm["group"] for vm in vms if vm["subscription"] == config.subscription_id}
    if config.resource_group == PLACEHOLDERS["resourceGroup"] and len(groups) == 1:
        config = dataclasses.replace(config, resource_group=groups.pop())
    return config


class AzurePlanner(Planner):
    """``lb`` is None for a cloud built offline (``ProviderContext.offline``): then only
    :meth:`plan_offline` works, from the configuration alone."""

    def __init__(self, config: AzureConfig, lb: AzureLoadBalancer | None) -> None:
        self.config = config
        self.lb = lb

    def plan_offline(self, request: LoadBalancerRequest) -> Plan:
        """Everything from an empty subscription: the security group exists (it is the cluster's, from
        the config) and every node's NIC joins the pool (NICs shown as ``<nic of NODE>``)."""
        config = with_nodes_group(self.config, request.nodes)
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
        planned = plan_ensure(Context.of(config, request), want, observed, request.nodes, rules=rules,
                              security_group=config.security_group_name or None)
        return tuple(planned.operations)

    def plan_live(self, request: LoadBalancerRequest) -> Plan:
        if self.lb is None:
            raise RuntimeError("this Azure cloud was built for offline planning only")
        settings = settings_from_request(request)
        with translated_errors(request.key, "plan"):
            return tuple(self.lb.prepare(request, settings).plan.operations)
