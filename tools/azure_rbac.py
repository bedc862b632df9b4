"""The Azure RBAC actions the Azure adapter needs, found in its source: ``.venv/bin/python -m tools.azure_rbac``.

The adapter (``providers/azure``) keeps no list of its ARM calls, so its source is read (an AST
walk; nothing is imported or run) and every azure-mgmt-network call it can send is found as an
operation group (``load_balancers``) and a method (``begin_create_or_update``) in three shapes:

- a method call on an operation group: ``clients.network.public_ip_addresses.list(group)``;
- a method call on a call naming the group: ``self._api("load_balancers").begin_delete(...)``,
  ``getattr(clients.network, "load_balancers").get(...)``;
- a call of one of the adapter's own functions that take the group by name (:data:`WRAPPERS`:
  ``edit(LOAD_BALANCER, LOAD_BALANCERS, ...)`` plans a read-modify-write), module constants
  resolved.

Each (group, method) becomes an action from the SDK itself: the request builder of that method
(``build_load_balancers_create_or_update_request`` in the installed azure-mgmt-network, read as
text) gives the URL and HTTP method, so ``PUT .../Microsoft.Network/loadBalancers/{name}`` is
``Microsoft.Network/loadBalancers/write``. ARM's linked access checks (``join/action`` on what a
written body references) are due when the adapter writes the referencing field (:data:`LINKS`);
reads the adapter sends by URL through ``send_request`` are declared in :data:`URL_READS`.

Reported as unresolved, so a new call shape fails instead of being missed: a method name of a used
group called on a receiver no rule attributes, a group named in the source with no call attributed,
a non-GET ``HttpRequest``, and a resource type passed to an id builder (``*_id(...)``) that no
link, URL read or note covers.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from tools import ROOT
from tools.iam_scan import (
    BUILTIN_METHODS,
    CallScan,
    Conditional,
    Source,
    Written,
    at,
    builder_literals,
    functions,
    installed_package,
    last_name,
    literal_args,
    module_constants,
    report,
    sources,
    strings,
    visit_all,
    written,
)

ADAPTER = ROOT / "providers" / "azure"
ROLE = ROOT / "deploy" / "iam" / "azure-role.json"

#: the adapter's functions that take an operation group by name, and the SDK methods each sends on it
WRAPPERS: Mapping[str, tuple[str, ...]] = {
    "get_or_none": ("get",),  # observe.get_or_none(clients, api, group, name)
    "get": ("get",),  # Writer.get(api, group, name)
    # operations.edit plans it, Writer.edit runs it: a fresh GET, the edit, one PUT with If-Match
    "edit": ("get", "begin_create_or_update"),
    "put": ("begin_create_or_update",),  # operations.put -> PutResource
    "delete": ("begin_delete",),  # operations.delete -> DeleteResource (only_if_empty: a GET first, in apply.py)
}

#: HTTP method of a request builder -> the RBAC verb of the action it is authorised as
HTTP_VERBS = {"GET": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}

#: ARM's linked access checks: a write whose body references another resource needs its join action
LINKS = (
    Conditional("Microsoft.Network/loadBalancers/write", "Microsoft.Network/publicIPAddresses/join/action",
                when=("publicIPAddress",), refers="publicIPAddresses",
                why="a public frontend names its public IP (ours or the user's)"),
    Conditional("Microsoft.Network/loadBalancers/write", "Microsoft.Network/virtualNetworks/subnets/join/action",
                when=("subnet",), refers="subnets", why="an internal frontend is placed in a subnet"),
    Conditional("Microsoft.Network/loadBalancers/write", "Microsoft.Network/virtualNetworks/joinLoadBalancer/action",
                when=("virtualNetwork",), refers="virtualNetworks",
                why="an IP-based backend pool (nodeIP) names the nodes' virtual network"),
    Conditional("Microsoft.Network/networkInterfaces/write",
                "Microsoft.Network/loadBalancers/backendAddressPools/join/action",
                when=("loadBalancerBackendAddressPools",), refers="backendAddressPools",
                why="a node NIC's primary IP configuration joins the cluster's backend pool"),
    # a NIC is written back whole (read-modify-write), and ARM checks every reference a PUT body
    # holds, not only the new ones: the node NIC's own references need their join actions too
    Conditional("Microsoft.Network/networkInterfaces/write", "Microsoft.Network/virtualNetworks/subnets/join/action",
                why="the node NIC written back names the subnet of each IP configuration"),
    Conditional("Microsoft.Network/networkInterfaces/write", "Microsoft.Network/publicIPAddresses/join/action",
                why="the node NIC written back names the node's public IP, if it has one"),
    Conditional("Microsoft.Network/networkInterfaces/write", "Microsoft.Network/networkSecurityGroups/join/action",
                why="the node NIC written back names its own network security group, if it has one"),
)

#: resource types the adapter reads by URL (``send_request``, instances.py) -> why
URL_READS: Mapping[str, str] = {
    "Microsoft.Compute/virtualMachines": "InstancesV2: the VM behind a Node, with its instance view",
    "Microsoft.Network/networkInterfaces": "InstancesV2: the VM's primary NIC, for the node's addresses",
    "Microsoft.Network/publicIPAddresses": "InstancesV2: the public IP on that NIC (ExternalIP)",
}

#: types passed to id builders that need no action of their own, and why
NOT_LINKED: Mapping[str, str] = {
    "loadBalancers": "the parent of the frontend, pool and probe ids a load balancer names within itself",
    "frontendIPConfigurations": "rules name a frontend of the same load balancer",
    "probes": "rules name a probe of the same load balancer",
    "networkInterfaces": "a placeholder NIC id in an offline plan (ccm plan); NICs are written by their own id",
    "virtualMachines": "read by URL (URL_READS)",
}


@functools.cache
def _package() -> Path:
    return installed_package("azure.mgmt.network")


@functools.cache
def groups() -> frozenset[str]:
    """The ``NetworkManagementClient`` operation groups (``load_balancers``...), from its ``_client.py``."""
    text = (_package() / "_client.py").read_text()
    return frozenset(re.findall(r"self\.(\w+) = \w+Operations\(", text))


@functools.cache
def _builders() -> dict[tuple[str, str], str]:
    """(group, operation) -> the source of its request builder, from the SDK's ``_operations.py``."""
    text = (_package() / "operations" / "_operations.py").read_text()
    known = sorted(groups(), key=len, reverse=True)
    out = {}
    for m in re.finditer(r"^def build_(\w+?)_request\(.*?(?=^def |^class )", text, re.M | re.S):
        name = m.group(1)
        group = next((g for g in known if name.startswith(g + "_")), None)
        if group is not None:
            out[(group, name[len(group) + 1:])] = m.group(0)
    return out


def _url_of(builder: str) -> str | None:
    """The URL template of a request builder (one string literal, or several in parentheses)."""
    m = re.search(r'_url = \(?\s*((?:"[^"]*"\s*)+)', builder)
    return "".join(re.findall(r'"([^"]*)"', m.group(1))) if m else None


def _operation(method: str) -> str:
    return method.removeprefix("begin_")


def methods(group: str) -> frozenset[str]:
    """The SDK methods of a group (long-running ones both plain and ``begin_``)."""
    ops = {op for g, op in _builders() if g == group}
    return frozenset(ops | {f"begin_{op}" for op in ops})


def action(group: str, method: str) -> str:
    """``("load_balancers", "begin_create_or_update")`` -> ``Microsoft.Network/loadBalancers/write``."""
    source = _builders()[(group, _operation(method))]
    url = _url_of(source)
    http = re.search(r'HttpRequest\(method="(\w+)"', source)
    if not url or "/providers/" not in url or not http:
        raise ValueError(f"{group}.{method}: no ARM URL or HTTP method in its request builder")
    path = url.split("/providers/", 1)[1]
    parts = [p for p in path.split("/") if not p.startswith("{")]
    verb = HTTP_VERBS.get(http.group(1))
    if verb is None:  # POST .../{name}/start -> .../start/action
        return "/".join([*parts[:-1], parts[-1], "action"])
    return "/".join([*parts, verb])


@functools.cache
def sdk_types() -> frozenset[str]:
    """Every resource type in the SDK's URLs (``Microsoft.Network/virtualNetworks/subnets``...)."""
    out = set()
    for source in _builders().values():
        url = _url_of(source)
        if url and "/providers/" in url:
            out.add("/".join(p for p in url.split("/providers/", 1)[1].split("/") if not p.startswith("{")))
    return frozenset(out)


@dataclasses.dataclass(frozen=True, order=True)
class Call:
    group: str  # load_balancers
    method: str  # begin_create_or_update

    def __str__(self) -> str:
        return f"{self.group}.{self.method}"


class _Visit(CallScan):
    def __init__(self, where: str, constants: Mapping[str, str], used: frozenset[str]) -> None:
        super().__init__(where)
        self.constants = constants
        self.url_reads = False
        self._names = {m for g in used for m in methods(g)} - BUILTIN_METHODS

    def _found(self, group: str, method: str, node: ast.AST) -> None:
        if method in methods(group):
            self.calls.setdefault(Call(group, method), self.place(node))
        else:
            self.unresolved.setdefault(f"{group}.{method} (no such SDK method)", self.place(node))

    def _named_groups(self, node: ast.AST) -> list[str]:
        return [a for a in literal_args(node, self.constants) if a in groups()] if isinstance(node, ast.Call) else []

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            receiver = last_name(func.value)
            named = self._named_groups(func.value)
            if receiver in groups():
                self._found(str(receiver), func.attr, node)
            elif named:
                for group in named:
                    self._found(group, func.attr, node)
            elif func.attr == "send_request":
                self.url_reads = True
            elif func.attr in self._names:
                self.mentions.setdefault(func.attr, self.place(node))
        wrapper = last_name(func)
        if wrapper in WRAPPERS:
            for group in self._named_groups(node):
                for method in WRAPPERS[str(wrapper)]:
                    self._found(group, method, node)
        if last_name(func) == "HttpRequest":
            verbs = strings(node.args[:1])
            if verbs != ["GET"]:
                self.unresolved.setdefault(f"HttpRequest {verbs or '?'} (only GETs are declared)",
                                           self.place(node))
        self.generic_visit(node)


@dataclasses.dataclass(frozen=True)
class ScanResult:
    calls: Mapping[Call, str]  # (group, method) -> first place
    unresolved: Mapping[str, str]
    body: Written
    #: resource types the adapter's id builders are called with -> first place
    references: Mapping[str, str]
    url_reads: bool

    def actions(self) -> dict[str, str]:
        """Action -> the first call needing it (or why, for a linked-access or URL read)."""
        out: dict[str, str] = {}
        for call in sorted(self.calls):
            out.setdefault(action(call.group, call.method), f"{call} ({self.calls[call]})")
        for link in LINKS:
            if link.due(out, self.body):
                out.setdefault(link.permission, f"{link.method}: {link.why}")
        if self.url_reads:
            for rtype, why in URL_READS.items():
                out.setdefault(f"{rtype}/read", why)
        return out


def _is_id_builder(defined: Iterable[str]) -> Callable[[ast.Call], bool]:
    """The adapter's id builders: its functions named ``*_id`` (``network_id``, ``child_id``...)."""
    names = {n for n in defined if n.endswith("_id")}
    return lambda call: last_name(call.func) in names


def scan(root: Path = ADAPTER) -> ScanResult:
    srcs: list[Source] = sources(root)
    constants = module_constants(srcs)
    named = {s: at(where, n) for where, tree in srcs for n in ast.walk(tree)
             if isinstance(n, ast.Constant) and isinstance(s := n.value, str) and s in groups()}
    used = frozenset(named) | frozenset(
        n.attr for _, tree in srcs for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in groups())
    visitors, found = visit_all(srcs, lambda where: _Visit(where, constants, used))
    calls: dict[Call, str] = {c: p for c, p in found.calls.items() if isinstance(c, Call)}
    resolved = {c.method for c in calls}
    unresolved = {**found.unresolved, **{n: p for n, p in found.mentions.items() if n not in resolved}}
    is_builder = _is_id_builder(f.name for _, f in functions(srcs))
    references = builder_literals(srcs, is_builder)
    attributed = {c.group for c in calls}
    # a group's name passed to an id builder is a resource type there ("subnets"), not a call
    unresolved.update({f"{g} (named, no call attributed)": p for g, p in named.items()
                       if g not in attributed and g not in references})
    return ScanResult(calls, dict(sorted(unresolved.items())), written(srcs), references,
                      any(v.url_reads for v in visitors))


def main() -> int:
    result = scan()
    return report(result.actions(), {f"unresolved: {name}": where for name, where in result.unresolved.items()})


if __name__ == "__main__":
    sys.exit(main())
