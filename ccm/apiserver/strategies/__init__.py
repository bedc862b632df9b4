"""One strategy per API resource; :func:`all_strategies` builds the server's set."""

from __future__ import annotations

from ccm.apiserver.strategies.base import Options, Strategy
from ccm.apiserver.strategies.configdata import ConfigMapStrategy, SecretStrategy, ServiceAccountStrategy
from ccm.apiserver.strategies.endpoints import EndpointsStrategy
from ccm.apiserver.strategies.endpointslices import EndpointSliceStrategy
from ccm.apiserver.strategies.events import CoreEventStrategy, EventV1Strategy
from ccm.apiserver.strategies.leases import LeaseStrategy
from ccm.apiserver.strategies.namespaces import NamespaceStrategy
from ccm.apiserver.strategies.nodes import NodeStrategy
from ccm.apiserver.strategies.services import ServiceStrategy

__all__ = ["Options", "Strategy", "all_strategies"]


def all_strategies(options: Options) -> list[Strategy]:
    return [
        NamespaceStrategy(options),
        ServiceStrategy(options),
        NodeStrategy(options),
        CoreEventStrategy(options),
        EndpointsStrategy(options),
        EndpointSliceStrategy(options),
        LeaseStrategy(options),
        EventV1Strategy(options),
        ConfigMapStrategy(options),
        SecretStrategy(options),
        ServiceAccountStrategy(options),
    ]
