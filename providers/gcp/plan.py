"""Pure diffs: observed -> desired as ordered :class:`GceCall` tuples.

A reconcile has two phases because a new external forwarding rule's IP is only known once it
exists, and the traffic firewall names that IP (``destinationRanges``), so it never admits the
Service's ports on any other address of the nodes:

1. ``plan_load_balancer``: the IP reservation, forwarding-rule deletions (obsolete, or to be
   rebuilt because a create-only field changed), the health check, the backend service, then the
   forwarding rules (discrete ports, ``allPorts`` beyond five);
2. ``plan_firewalls``: the traffic and health-check firewalls for the IP, then the clean-up of
   what phase 1 made obsolete (a released reservation, the Service's own health check after a
   switch to the shared one).

The IP is kept across rebuilds: an ephemeral IP is promoted to a reserved address (named after
the load balancer) before its rule is deleted, and released once the rules are back, unless two
rules share it (TCP and UDP), which needs the reservation for good. A user's reserved address
(``loadBalancerIP``) is referenced, never created, changed or released.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from providers.adapter.ownership import foreign
from providers.gcp import links
from providers.gcp.config import GceConfig
from providers.gcp.desired import Desired
from providers.gcp.names import SERVICE_KEY, marks, node_health_check_name, service_description
from providers.gcp.observe import Observed
from providers.gcp.operations import GceCall, call
from providers.port import UserError

Json = dict[str, Any]
#: health-check fields compared (the API fills others with defaults)
_HC_FIELDS = ("type", "checkIntervalSec", "timeoutSec", "healthyThreshold", "unhealthyThreshold")
_BACKEND_FIELDS = ("protocol", "sessionAffinity", "loadBalancingScheme", "network")
_FIREWALL_FIELDS = ("network", "direction", "priority", "sourceRanges", "destinationRanges", "targetTags")


@dataclasses.dataclass(frozen=True)
class LbPlan:
    operations: tuple[GceCall, ...]
    #: the load balancer's IP when known before applying (None: a new ephemeral one)
    ip: str | None
    #: the rules share one IP, so our reservation must stay
    keep_reservation: bool
    notes: tuple[str, ...] = ()


def _rule_differs(observed: Json, want: Mapping[str, Any]) -> str | None:
    if observed.get("IPProtocol") != want["IPProtocol"]:
        return "protocol"
    if sorted(observed.get("ports") or [], key=int) != list(want.get("ports") or []) or \
            bool(observed.get("allPorts")) != bool(want.get("allPorts")):
        return "ports"
    if links.path(str(observed.get("backendService", ""))) != want["backendService"]:
        return "backend service"
    if observed.get("loadBalancingScheme") != want["loadBalancingScheme"]:
        return "scheme"
    return None


def _ip_check(d: Desired, o: Observed, config: GceConfig) -> tuple[str | None, bool]:
    """(the IP the rules must have, whether it is a user's reserved address)."""
    want = d.requested_ip
    if not want:
        return None, False
    user = o.ip_address is not None and (o.address is None or o.ip_address.get("name") != o.address.get("name"))
    if user:
        return want, True
    held = want in {str(r.get("IPAddress")) for r in o.rules.values()} or (
        o.address is not None and o.address.get("address") == want)
    if not held and not d.kind.scheme == "INTERNAL":
        raise UserError(f"{d.owner.service}: loadBalancerIP {want} is not a static address reserved in region "
                        f"{config.region} of project {config.project}; reserve it first (gcloud compute addresses "
                        f"create NAME --addresses {want} --region {config.region}) or remove loadBalancerIP",
                        reason="InvalidLoadBalancerIP")
    return want, False


def plan_load_balancer(d: Desired, o: Observed, config: GceConfig) -> LbPlan:
    if o.foreign:
        raise foreign(o.foreign[0].split(" ", 1)[0], o.foreign[0], d.owner)
    project, region = config.project, config.region
    notes: list[str] = []
    rebuild_all = o.backend is not None and o.backend.get("loadBalancingScheme") != d.kind.scheme
    if rebuild_all:
        notes.append(f"load balancer type changed to {d.kind.label}: rebuilt (the IP changes)")
    lost_ip = rebuild_all
    rebuild: dict[str, str] = {}
    for name, rule in o.rules.items():
        if name not in d.rules or rebuild_all:
            continue
        reason = _rule_differs(rule, d.rules[name]) or d.kind.recreate_reason(rule, d.rules[name], d.settings)
        if reason:
            rebuild[name] = reason
            if "IP changes" in reason:
                lost_ip = True
                notes.append(f"forwarding rule {name}: {reason}")
    requested, user_owned = _ip_check(d, o, config)
    current = None if lost_ip else o.ip
    ip = requested or current
    if requested and current and requested != current:
        rebuild.update({n: "IP" for n in o.rules if n in d.rules})
    keep = len(d.rules) > 1 and not user_owned
    deleting = {n for n in o.rules if n not in d.rules or n in rebuild or rebuild_all}
    # the reservation: needed while rules share the IP, or to hold the IP while its rule is rebuilt
    ephemeral_held = ip is not None and o.address is None and not user_owned and ip in {
        str(o.rules[n].get("IPAddress")) for n in deleting}
    need_address = not user_owned and (keep or ephemeral_held)
    stale_address = o.address is not None and (lost_ip or user_owned or (ip is not None and o.address.get(
        "address") != ip))
    ops: list[GceCall] = []
    address_path = links.regional(project, region, "addresses", d.lb)
    address_body = {"name": d.lb, "description": service_description(d.owner), **d.kind.address_fields(
        d.settings, config)}
    if ephemeral_held and need_address:
        ops.append(call("addresses", "insert", d.lb, {**address_body, "address": ip},
                        summary=f"reserve {ip} while its forwarding rules are rebuilt"))
    for name in sorted(deleting):
        why = rebuild.get(name) or ("load balancer type changed" if rebuild_all else "no such ports any more")
        ops.append(call("forwardingRules", "delete", name, summary=why))
    if stale_address:
        ops.append(call("addresses", "delete", d.lb, summary="release the old reservation"))
    if rebuild_all and o.backend is not None:
        ops.append(call("backendServices", "delete", d.lb, summary="load balancer type changed"))
    has_address = (o.address is not None and not stale_address) or (ephemeral_held and need_address)
    if need_address and not has_address:
        body = dict(address_body)
        if ip is not None:
            body["address"] = ip
        ops.append(call("addresses", "insert", d.lb, body, summary="one IP for several forwarding rules"))
        has_address = True
    hc = d.health_check
    existing_hc = o.health_checks.get(hc["name"])
    if existing_hc is None:
        ops.append(call("healthChecks", "insert", hc["name"], hc))
    elif any(existing_hc.get(f) != hc.get(f) for f in _HC_FIELDS) or any(
            existing_hc.get("httpHealthCheck", {}).get(k) != v for k, v in hc["httpHealthCheck"].items()):
        ops.append(call("healthChecks", "patch", hc["name"], {k: v for k, v in hc.items() if k != "description"},
                        summary=f"port {hc['httpHealthCheck']['port']} {hc['httpHealthCheck']['requestPath']}"))
    backend = None if rebuild_all else o.backend
    if backend is None:
        ops.append(call("backendServices", "insert", d.lb, d.backend))
    else:
        changed = _backend_changes(backend, d.backend)
        if changed:
            ops.append(call("backendServices", "patch", d.lb, {**d.backend, "fingerprint": backend.get("fingerprint")},
                            summary=", ".join(changed)))
    for name, want in sorted(d.rules.items()):
        existing = o.rules.get(name)
        if existing is None or name in deleting:
            body = dict(want)
            if user_owned or (ip is not None and not has_address):
                body["IPAddress"] = ip
            elif has_address:
                body["IPAddress"] = address_path
            ops.append(call("forwardingRules", "insert", name, body,
                            summary=f"{want['IPProtocol']} " + ("all ports" if want.get("allPorts") else
                                                                 ",".join(want["ports"]))))
        else:
            patch = d.kind.patch(existing, want)
            if patch:
                ops.append(call("forwardingRules", "patch", name, {**patch, "fingerprint": existing.get("fingerprint")},
                                summary=", ".join(f"{k}={v}" for k, v in patch.items())))
    return LbPlan(tuple(ops), ip, keep and not user_owned, tuple(notes))


def _backend_changes(observed: Json, want: Mapping[str, Any]) -> list[str]:
    changed = [f for f in _BACKEND_FIELDS if f in want and links.normalise(observed.get(f)) != want[f]]
    if [links.path(h) for h in observed.get("healthChecks", [])] != list(want["healthChecks"]):
        changed.append("health check")
    if sorted(links.path(b.get("group", "")) for b in observed.get("backends", [])) != sorted(
            b["group"] for b in want["backends"]):
        changed.append("backends")
    return changed


def _firewall_changes(observed: Json, want: Mapping[str, Any]) -> list[str]:
    changed = []
    for f in _FIREWALL_FIELDS:
        have, wanted = links.normalise(observed.get(f)), want.get(f)
        if isinstance(wanted, list):
            have, wanted = _ranges(have), _ranges(wanted)
        if have != wanted and not (wanted is None and not have):
            changed.append(f)
    allowed = sorted((a.get("IPProtocol"), sorted(a.get("ports", []))) for a in observed.get("allowed", []))
    if allowed != sorted((a["IPProtocol"], sorted(a.get("ports", []))) for a in want["allowed"]):
        changed.append("allowed")
    return changed


def _ranges(values: Any) -> list[str]:
    return sorted(str(v).removesuffix("/32") for v in values or [])


def plan_firewalls(d: Desired, o: Observed, config: GceConfig) -> tuple[GceCall, ...]:
    """Phase 2, from an observation made after phase 1: the firewalls for the load balancer's IP
    (``<ip>`` in a printed plan before it exists), then the clean-up phase 1 made possible."""
    ip = o.ip
    _, user_owned = _ip_check(d, o, config) if ip else (None, False)
    ops: list[GceCall] = []
    for name, want in sorted(d.firewalls.items()):
        body = dict(want)
        if name == d.traffic_firewall:
            body["destinationRanges"] = [ip or "<ip>"]
        existing = o.firewalls.get(name)
        if existing is None:
            ops.append(call("firewalls", "insert", name, body, scope="global"))
        else:
            changed = _firewall_changes(existing, body)
            if changed:
                ops.append(call("firewalls", "patch", name, body, scope="global", summary=", ".join(changed)))
    for name in sorted(set(o.firewalls) - set(d.firewalls)):
        if marks(o.firewalls[name].get("description")).get(SERVICE_KEY):
            ops.append(call("firewalls", "delete", name, scope="global", summary="no longer used"))
    keep = len(d.rules) > 1 and not user_owned
    if o.address is not None and not keep and o.rules and (ip is None or o.address.get("address") == ip):
        ops.append(call("addresses", "delete", d.lb, summary="release the reservation (one forwarding rule "
                                                             "holds the IP)"))
    if d.shared_health_check and d.lb in o.health_checks:
        ops.append(call("healthChecks", "delete", d.lb, summary="externalTrafficPolicy is Cluster"))
    return tuple(ops)


def plan_delete(lb: str, cluster: str, o: Observed) -> tuple[GceCall, ...]:
    """Everything of the Service, dependency-ordered; shared resources are collected separately."""
    ops = [call("forwardingRules", "delete", n) for n in sorted(o.rules)]
    if o.backend is not None:
        ops.append(call("backendServices", "delete", lb))
    if lb in o.health_checks and lb != node_health_check_name(cluster):
        ops.append(call("healthChecks", "delete", lb))
    for name, fw in sorted(o.firewalls.items()):
        if marks(fw.get("description")).get(SERVICE_KEY):
            ops.append(call("firewalls", "delete", name, scope="global"))
    if o.address is not None:
        ops.append(call("addresses", "delete", lb))
    return tuple(ops)
