"""Shared fixtures: the embedded API server and an official-client ApiClient against it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def apiserver() -> Iterator[object]:
    """A fresh embedded API server (ccm.apiserver.testing.EmbeddedAPIServer) per test."""
    from ccm.apiserver.testing import embedded_apiserver

    with embedded_apiserver() as server:
        yield server


@pytest.fixture
def api_client(apiserver):  # type: ignore[no-untyped-def]
    """A kubernetes.client.ApiClient configured for the embedded API server."""
    client = apiserver.api_client()
    try:
        yield client
    finally:
        client.close()
