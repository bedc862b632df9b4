"""core/v1 Endpoints: stored as sent (the legacy API; nothing here relies on its validation)."""

from __future__ import annotations

from ccm.apiserver.strategies.base import Strategy


class EndpointsStrategy(Strategy):
    plural = "endpoints"
    singular = "endpoints"
    kind = "Endpoints"
    model = "V1Endpoints"
    short_names = ("ep",)
    allow_create_on_update = True
    deprecation = "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"
