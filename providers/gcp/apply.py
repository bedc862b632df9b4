"""The only module of the GCP adapter that sends a mutating call: the executor of :class:`GceCall`.

Each call is a ``*_unary`` method; ``wait`` waits for its operation on the endpoint-configured
operations client. A create that finds its resource already there (a crash after the call was
accepted) and a delete that finds it gone are :class:`AlreadyDone`, as is an instance-group
membership change that is already in effect. Throttling (HTTP 429, ``rateLimitExceeded``,
``QUOTA_EXCEEDED``) and 5xx answers are retried by the shared policy, then become a RetryError
(a repeated call that had taken effect is one of the AlreadyDone cases). Reads are retried inside
the SDK call (``clients.READ_RETRY``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import compute_v1

from providers.adapter.apply import AlreadyDone, Executor
from providers.adapter.apply import apply as run
from providers.adapter.retry import RetryPolicy
from providers.gcp.clients import TRANSIENT, Clients, is_throttled, translated_errors
from providers.gcp.operations import GceCall
from providers.port import UserError

log = logging.getLogger(__name__)

#: collection -> (client attribute, resource message, insert/patch body keyword, name keyword)
_SHAPES: dict[str, tuple[str, Any, str, str]] = {
    "forwardingRules": ("forwarding_rules", compute_v1.ForwardingRule, "forwarding_rule_resource", "forwarding_rule"),
    "backendServices": ("backend_services", compute_v1.BackendService, "backend_service_resource", "backend_service"),
    "healthChecks": ("health_checks", compute_v1.HealthCheck, "health_check_resource", "health_check"),
    "firewalls": ("firewalls", compute_v1.Firewall, "firewall_resource", "firewall"),
    "addresses": ("addresses", compute_v1.Address, "address_resource", "address"),
    "instanceGroups": ("instance_groups", compute_v1.InstanceGroup, "instance_group_resource", "instance_group"),
}
_MEMBERSHIP = {
    "addInstances": ("add_instances_unary", compute_v1.InstanceGroupsAddInstancesRequest,
                     "instance_groups_add_instances_request_resource", "memberAlreadyExists"),
    "removeInstances": ("remove_instances_unary", compute_v1.InstanceGroupsRemoveInstancesRequest,
                        "instance_groups_remove_instances_request_resource", "memberNotFound"),
}


def message(cls: Any, body: Mapping[str, Any]) -> Any:
    """REST JSON -> the SDK's message (unknown fields are an error, as they are for the API)."""
    return cls.from_json(json.dumps(dict(body)))


class GceExecutor(Executor[GceCall]):
    retry = RetryPolicy(attempts=3, base_delay=0.5, max_delay=4.0, retry_after=10.0)

    def __init__(self, clients: Clients) -> None:
        self.clients = clients

    def _where(self, op: GceCall) -> dict[str, str]:
        if op.scope == "global":
            return {"project": self.clients.project}
        if op.scope == "region":
            return {"project": self.clients.project, "region": self.clients.region}
        return {"project": self.clients.project, "zone": op.scope}

    def send(self, op: GceCall, refs: Mapping[str, Any], key: str) -> Any:
        attr, cls, body_kw, name_kw = _SHAPES[op.collection]
        client = getattr(self.clients, attr)
        where = self._where(op)
        log.debug("%s: %s.%s %s %s", key, op.collection, op.verb, op.name, op.body)
        with translated_errors(key, f"{op.collection}.{op.verb} {op.name}"):
            try:
                if op.verb == "insert":
                    return client.insert_unary(**where, **{body_kw: message(cls, op.body)})
                if op.verb == "delete":
                    return client.delete_unary(**where, **{name_kw: op.name})
                if op.verb in ("patch", "update"):
                    method = client.patch_unary if op.verb == "patch" else client.update_unary
                    return method(**where, **{name_kw: op.name, body_kw: message(cls, op.body)})
                method_name, req_cls, req_kw, done_reason = _MEMBERSHIP[op.verb]
                try:
                    return getattr(client, method_name)(**where, **{name_kw: op.name,
                                                                   req_kw: message(req_cls, op.body)})
                except gexc.BadRequest as exc:
                    if done_reason in str(exc):
                        raise AlreadyDone(done_reason) from exc
                    raise
            except gexc.Conflict as exc:
                if op.verb == "insert":
                    raise AlreadyDone("alreadyExists") from exc
                raise
            except gexc.NotFound as exc:
                if op.verb == "delete":
                    raise AlreadyDone("notFound") from exc
                if op.collection == "forwardingRules" and op.verb == "insert":
                    # a resource the rule names is missing: the subnet an annotation names (a shared
                    # resource collected meanwhile elsewhere is transient: the retry recreates it)
                    raise UserError(f"Compute Engine rejected {op.collection}.{op.verb} {op.name}: {exc.message}",
                                    reason="InvalidLoadBalancerConfiguration") from exc
                raise

    def wait(self, op: GceCall, response: Any, key: str) -> Any:
        with translated_errors(key, f"{op.collection}.{op.verb} {op.name}"):
            return self.clients.wait(response, f"{op.collection}.{op.verb} {op.name}")

    def throttled(self, exc: BaseException) -> bool:
        """Throttling, and 5xx too: a repeated insert or delete that did take effect is AlreadyDone."""
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        return is_throttled(cause) or isinstance(cause, TRANSIENT)


def apply(clients: Clients, plan: Sequence[GceCall], key: str) -> None:
    """Send ``plan`` in order, each call awaited; stops at the first failure."""
    run(plan, GceExecutor(clients), key)
