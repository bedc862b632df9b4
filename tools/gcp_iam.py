"""The IAM permissions the GCP adapter needs, found in its source: ``.venv/bin/python -m tools.gcp_iam``.

The adapter (``providers/gcp``) keeps no list of its Compute Engine calls, so its source is read
(an AST walk; nothing is imported or run) and every call it can send is found in two shapes:

- a method call on a google-cloud-compute client: ``self.clients.instance_groups.list_instances(...)``,
  where the receiver's last name is a client attribute declared with its class
  (``instance_groups: compute_v1.InstanceGroupsClient`` in a dataclass, or
  ``instance_groups=build(compute_v1.InstanceGroupsClient)``), or a local alias of one, and the
  call names its project (``project=`` or ``request=``: every Compute Engine method needs one);
- a planned call as data: ``call("forwardingRules", "insert", ...)``, a call whose first argument
  is a collection of a dispatch table (a dict mapping the collection to a tuple led by the client
  attribute, as ``apply._SHAPES``) and whose second is a REST method of that client; a computed
  method (``call("instanceGroups", verb, ...)``) stands for the REST methods of that collection
  spelled out as literals in the same function.

A REST method turns into its permission by the verb table below (``RegionBackendServicesClient.insert``
-> ``compute.regionBackendServices.create``); permissions Compute Engine checks on resources a
request *references* (``compute.subnetworks.use`` for a forwarding rule in a subnetwork...) are
due when the adapter writes the referencing field (:data:`CONDITIONAL`). Names that look like
client methods but were never attributed to a client are reported as unresolved, and so are links
the adapter builds to a collection no conditional entry covers.

Client methods come from the installed google-cloud-compute package, read as text (its services'
``client.py``): no SDK import, so the scan stays fast.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from tools import ROOT
from tools.iam_scan import (
    BUILTIN_METHODS,
    CallScan,
    Conditional,
    Source,
    Written,
    builder_literals,
    installed_package,
    last_name,
    literal_args,
    module_constants,
    report,
    sources,
    visit_all,
    written,
)

ADAPTER = ROOT / "providers" / "gcp"
ROLE = ROOT / "deploy" / "iam" / "gcp-role.yaml"

#: REST method -> the verb of the permission Compute Engine checks on the method's own resource
VERBS = {
    "insert": "create",
    "delete": "delete",
    "get": "get",
    "list": "list",
    "aggregatedList": "list",
    # PATCH and PUT are both authorised as update
    "patch": "update",
    "update": "update",
    # waiting for an operation is reading it: regionOperations.wait needs compute.regionOperations.get
    "wait": "get",
    # instance-group membership changes update the group; listing its members lists groups
    "addInstances": "update",
    "removeInstances": "update",
    "setNamedPorts": "update",
    "listInstances": "list",
    "setLabels": "setLabels",
}

#: permissions on what a request references, each due when the adapter writes its field
CONDITIONAL = (
    Conditional("forwardingRules.insert", "compute.regionBackendServices.use", when=("backendService",),
                refers="backendServices", why="the rule sends its traffic to the Service's regional backend service"),
    Conditional("forwardingRules.insert", "compute.addresses.use", when=("IPAddress",), refers="addresses",
                why="a rule holding a reserved external address (ours or the user's loadBalancerIP) uses it"),
    Conditional("forwardingRules.insert", "compute.addresses.useInternal", when=("IPAddress", ("addressType", "INTERNAL")),
                why="an internal rule holding a reserved internal address uses it"),
    Conditional("forwardingRules.insert", "compute.subnetworks.use", when=("subnetwork",), refers="subnetworks",
                why="an internal rule takes its IP from the configured or annotated subnetwork"),
    Conditional("forwardingRules.insert", "compute.networks.use", when=("subnetwork",),
                why="an internal rule is placed in the subnetwork's network"),
    Conditional("addresses.insert", "compute.addresses.createInternal", when=(("addressType", "INTERNAL"),),
                why="reserving an INTERNAL address is authorised as createInternal, not create"),
    Conditional("addresses.insert", "compute.subnetworks.use", when=("subnetwork",),
                why="an internal address is reserved in a subnetwork"),
    Conditional("addresses.delete", "compute.addresses.deleteInternal", when=(("addressType", "INTERNAL"),),
                why="releasing an INTERNAL address is authorised as deleteInternal, not delete"),
    *(c for method in ("regionBackendServices.insert", "regionBackendServices.patch") for c in (
        Conditional(method, "compute.instanceGroups.use", when=("group",), refers="instanceGroups",
                    why="the backends are the shared per-zone instance groups"),
        Conditional(method, "compute.regionHealthChecks.useReadOnly", when=("healthChecks",), refers="healthChecks",
                    why="the backend service names its regional health check"),
        Conditional(method, "compute.networks.use", when=("network",), refers="networks",
                    why="an internal backend service names the cluster's network"),
    )),
    *(Conditional(method, "compute.networks.updatePolicy", when=("network",), refers="networks",
                  why="a VPC firewall rule is part of its network's policy")
      for method in ("firewalls.insert", "firewalls.patch")),
    Conditional("instanceGroups.addInstances", "compute.instances.use", when=("instance",), refers="instances",
                why="adding an instance to a group uses the instance"),
)

#: collections the adapter builds links to without a permission of their own, and why
LINKED_WITHOUT_PERMISSION: Mapping[str, str] = {}


@dataclasses.dataclass(frozen=True)
class Api:
    """One google-cloud-compute client: its REST resource and methods."""

    client: str  # ForwardingRulesClient
    resource: str  # forwardingRules
    rest: frozenset[str]  # REST methods, camelCase: insert, addInstances

    def rest_method(self, python_name: str) -> str | None:
        """``add_instances_unary`` -> ``addInstances`` when it is one of this client's REST calls."""
        camel = _camel(python_name.removesuffix("_unary"))
        return camel if camel in self.rest else None

    def python_names(self, rest: str) -> frozenset[str]:
        snake = _snake(rest)
        return frozenset({snake, f"{snake}_unary"})


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", camel).lower()


@functools.cache
def _services_dir() -> Path:
    return installed_package("google.cloud.compute_v1") / "services"


@functools.cache
def api(client: str) -> Api:
    """The REST methods of ``compute_v1.<client>``, read from its generated ``client.py``."""
    resource = client.removesuffix("Client")
    resource = resource[:1].lower() + resource[1:]
    path = _services_dir() / _snake(resource) / "client.py"
    if not path.is_file():
        raise ValueError(f"compute_v1.{client} is not a google-cloud-compute client ({path} missing)")
    rpcs = re.findall(r"_wrapped_methods\[self\._transport\.(\w+)\]", path.read_text())
    return Api(client, resource, frozenset(_camel(r) for r in rpcs))


@functools.cache
def resources() -> frozenset[str]:
    """Every Compute Engine REST resource the SDK has a client for (``regionBackendServices``...)."""
    return frozenset(_camel(p.name) for p in _services_dir().iterdir() if (p / "client.py").is_file())


@dataclasses.dataclass(frozen=True, order=True)
class Method:
    resource: str  # regionBackendServices
    rest: str  # insert

    def __str__(self) -> str:
        return f"{self.resource}.{self.rest}"


def _client_class(node: ast.AST) -> str | None:
    """``compute_v1.XClient`` -> ``XClient``."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "compute_v1" \
            and node.attr.endswith("Client"):
        return node.attr
    return None


def client_attributes(srcs: Iterable[Source]) -> dict[str, Api]:
    """Client attribute names -> their client, from annotations and ``name=build(compute_v1.X)``."""
    out: dict[str, Api] = {}
    for _, tree in srcs:
        for node in ast.walk(tree):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                cls = _client_class(node.annotation)
                if cls:
                    out[node.target.id] = api(cls)
            elif isinstance(node, ast.keyword) and node.arg and isinstance(node.value, ast.Call) \
                    and node.value.args and (cls := _client_class(node.value.args[0])):
                out[node.arg] = api(cls)
    return out


def dispatch_tables(srcs: Iterable[Source], clients: Mapping[str, Api]) -> dict[str, Api]:
    """Planned-call collections -> client, from dicts mapping a collection to ``(client attribute, ...)``."""
    out: dict[str, Api] = {}
    for _, tree in srcs:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Dict) or not node.keys:
                continue
            entries = {}
            for key, value in zip(node.keys, node.values, strict=True):
                if not (isinstance(key, ast.Constant) and isinstance(key.value, str)
                        and isinstance(value, ast.Tuple) and value.elts
                        and isinstance(value.elts[0], ast.Constant) and value.elts[0].value in clients):
                    break
                entries[key.value] = clients[str(value.elts[0].value)]
            else:
                out.update(entries)
    return out


class _Visit(CallScan):
    def __init__(self, where: str, clients: Mapping[str, Api], tables: Mapping[str, Api],
                 constants: Mapping[str, str]) -> None:
        super().__init__(where)
        self.clients, self.tables, self.constants = clients, tables, constants
        self._scopes: list[tuple[set[str], dict[str, Api]]] = [(set(), {})]
        #: python method names of every client (what a mention is compared with)
        self._names = {n for a in clients.values() for r in a.rest for n in a.python_names(r)} - BUILTIN_METHODS

    def _found(self, client: Api, rest: str, node: ast.AST) -> None:
        self.calls.setdefault(Method(client.resource, rest), self.place(node))

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        literals = {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        self._scopes.append((literals, dict(self._scopes[-1][1])))
        self.generic_visit(node)
        self._scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Assign(self, node: ast.Assign) -> None:
        name = last_name(node.value)
        if name is not None and name in self.clients and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            self._scopes[-1][1][node.targets[0].id] = self.clients[name]
        self.generic_visit(node)

    def _client_of(self, receiver: ast.AST) -> Api | None:
        name = last_name(receiver)
        if name is None:
            return None
        if isinstance(receiver, ast.Name) and name in self._scopes[-1][1]:
            return self._scopes[-1][1][name]
        return self.clients.get(name)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            client = self._client_of(func.value)
            rest = client.rest_method(func.attr) if client else None
            # every Compute Engine method names its project (flattened or in ``request``): a
            # ``firewalls.get(name)`` on a dict that happens to share a client's name is no call
            if client and rest and {k.arg for k in node.keywords} & {"project", "request"}:
                self._found(client, rest, node)
            elif func.attr in self._names:
                self.mentions.setdefault(func.attr, self.place(node))
        self._planned(node)
        self.generic_visit(node)

    def _planned(self, node: ast.Call) -> None:
        if not isinstance(node.func, ast.Name) or len(node.args) < 2:
            return  # a planned call is built by a function: call("forwardingRules", "insert", ...)
        first = literal_args(ast.Call(func=node.func, args=node.args[:1], keywords=[]), self.constants)
        if not first or first[0] not in self.tables:
            return
        client = self.tables[first[0]]
        verb = node.args[1]
        if isinstance(verb, ast.Constant) and isinstance(verb.value, str):
            candidates = {verb.value}
        else:  # computed: the collection's REST methods spelled in this function
            candidates = self._scopes[-1][0] & client.rest
        found = candidates & client.rest
        for rest in found:
            self._found(client, rest, node)
        if not found or found != candidates:
            self.unresolved.setdefault(f"{first[0]}.{','.join(sorted(candidates - found)) or '?'}",
                                       self.place(node))

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and node.value in self._names:
            self.mentions.setdefault(node.value, self.place(node))


def _is_link(call: ast.Call) -> bool:
    func = call.func
    return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "links"


@dataclasses.dataclass(frozen=True)
class ScanResult:
    methods: Mapping[Method, str]  # REST method -> first place it is called
    #: call shapes that could not be attributed: a name that looks like a client method with an
    #: unknown receiver, or a planned call whose method is not one of its collection's
    unresolved: Mapping[str, str]
    body: Written
    #: collections the adapter's ``links.*`` builders are called with -> first place
    links: Mapping[str, str]

    def unmapped(self) -> list[Method]:
        """REST methods the verb table does not know."""
        return sorted(m for m in self.methods if m.rest not in VERBS)

    def permissions(self) -> dict[str, str]:
        """Permission -> the first REST method needing it (and why, for a conditional one)."""
        out: dict[str, str] = {}
        for method in sorted(self.methods):
            if method.rest in VERBS:
                out.setdefault(f"compute.{method.resource}.{VERBS[method.rest]}", f"{method} ({self.methods[method]})")
        called = {str(m) for m in self.methods}
        for extra in CONDITIONAL:
            if extra.due(called, self.body):
                out.setdefault(extra.permission, f"{extra.method}: {extra.why}")
        return out


def scan(root: Path = ADAPTER) -> ScanResult:
    srcs = sources(root)
    clients = client_attributes(srcs)
    tables = dispatch_tables(srcs, clients)
    constants = module_constants(srcs)
    _, found = visit_all(srcs, lambda where: _Visit(where, clients, tables, constants))
    methods: dict[Method, str] = {m: p for m, p in found.calls.items() if isinstance(m, Method)}
    by_resource = {a.resource: a for a in clients.values()}
    resolved = {n for m in methods for n in by_resource[m.resource].python_names(m.rest)}
    unresolved = {**found.unresolved, **{n: p for n, p in found.mentions.items() if n not in resolved}}
    return ScanResult(methods, dict(sorted(unresolved.items())), written(srcs),
                      builder_literals(srcs, _is_link))


def main() -> int:
    result = scan()
    return report(result.permissions(), {
        **{f"unresolved: {name}": where for name, where in result.unresolved.items()},
        **{f"no permission known for {m}: add its verb to tools/gcp_iam.py VERBS": result.methods[m]
           for m in result.unmapped()}})


if __name__ == "__main__":
    sys.exit(main())
