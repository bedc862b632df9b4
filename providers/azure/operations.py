"""Azure operations as typed frozen values (see ``providers.adapter.operations``).

* :class:`PutResource` - ``begin_create_or_update`` of a whole resource we own (a public IP);
* :class:`EditResource` - a read-modify-write of a shared resource through a pure edit (a load
  balancer, the cluster security group, a NIC): ``apply.py`` reads it fresh, runs the edit, and
  writes with ``If-Match``; edits for one resource are batched;
* :class:`DeleteResource` - ``begin_delete``; ``only_if_empty`` for a shared load balancer, which
  goes only while nothing is on it at the moment of deleting.

``providers.azure.apply`` is the only module that sends them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Protocol

from providers.adapter.operations import Kind, Operation
from providers.port import Resource

#: SDK operation groups by the resource types ``names`` defines
LOAD_BALANCERS = "load_balancers"
PUBLIC_IPS = "public_ip_addresses"
SECURITY_GROUPS = "network_security_groups"
INTERFACES = "network_interfaces"


class Edit(Protocol):
    """A pure edit: the resource's new body from its current one (``current`` when unchanged)."""

    def apply(self, current: dict[str, Any] | None) -> dict[str, Any] | None: ...

    def describe(self) -> str: ...

    def settings(self, *, create: bool) -> Mapping[str, Any]:
        """What the edit writes, for plans: the children it puts in place (the whole body when the
        edit creates the resource); values an earlier operation produces stay :class:`Ref`."""
        ...


@dataclasses.dataclass(frozen=True, kw_only=True)
class AzureOp(Operation):
    #: the SDK operation group (``load_balancers``...)
    group_api: str
    resource_group: str
    name: str

    def payload(self) -> Mapping[str, Any]:
        return {"api": self.group_api, "resourceGroup": self.resource_group, "name": self.name}


@dataclasses.dataclass(frozen=True, kw_only=True)
class PutResource(AzureOp):
    body: Mapping[str, Any]
    summary: str = ""

    def detail(self) -> str:
        return self.summary

    def payload(self) -> Mapping[str, Any]:
        return {**super().payload(), "body": self.body}


@dataclasses.dataclass(frozen=True, kw_only=True)
class EditResource(AzureOp):
    edit: Any  # an Edit (frozen dataclass)

    def detail(self) -> str:
        return str(self.edit.describe())

    def payload(self) -> Mapping[str, Any]:
        return {**super().payload(), "edit": self.edit.describe(),
                **self.edit.settings(create=self.kind is Kind.CREATE)}


@dataclasses.dataclass(frozen=True, kw_only=True)
class DeleteResource(AzureOp):
    #: a shared load balancer: delete only if nothing is on it when the call is made
    only_if_empty: str | None = None

    def detail(self) -> str:
        return "if nothing else is on it" if self.only_if_empty else ""


def put(rtype: str, api: str, group: str, name: str, body: Mapping[str, Any], *, create: bool,
        summary: str = "", produces: str | None = None) -> PutResource:
    return PutResource(kind=Kind.CREATE if create else Kind.UPDATE, resource=Resource(rtype, f"{group}/{name}"),
                       group_api=api, resource_group=group, name=name, body=body, summary=summary,
                       produces=produces)


def edit(rtype: str, api: str, group: str, name: str, change: Any, *, create: bool = False,
         produces: str | None = None) -> EditResource:
    return EditResource(kind=Kind.CREATE if create else Kind.UPDATE, resource=Resource(rtype, f"{group}/{name}"),
                        group_api=api, resource_group=group, name=name, edit=change, produces=produces)


def delete(rtype: str, api: str, group: str, name: str, *, only_if_empty: str | None = None) -> DeleteResource:
    return DeleteResource(kind=Kind.DELETE, resource=Resource(rtype, f"{group}/{name}"), group_api=api,
                          resource_group=group, name=name, only_if_empty=only_if_empty)
