"""core/v1 Endpoints: stored as sent (the legacy API; nothing here relies on its validation)."""

from __future__ import annotations

from ccm.apiserver.strategies.base import Strategy


class EndpointsStrategy(Strategy):
    plural = "endpoints"
    singular = "endpoints"
    kind = "Endpoints"
    short_names = ("ep",)
    allow_create_on_update = True
