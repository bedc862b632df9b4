"""The metric families an upstream cloud-controller-manager exposes, scraped from /metrics."""

from __future__ import annotations

import urllib.request

from ccm.controllers.manager import ControllerManager, ControllerOptions
from ccm.kube.restmetrics import instrument
from providers.fake import FakeCloud
from tests.util import wait_for


def test_leader_rest_client_controller_and_queue_metrics(apiserver):
    client = instrument(apiserver.api_client(), qps=100, burst=100)
    mgr = ControllerManager(client, FakeCloud(), ControllerOptions(
        port=0, leader_elect=True, lease_duration=2.0, renew_deadline=1.5, retry_period=0.5,
        leader_elect_name="metrics-test"))
    mgr.start()
    try:
        assert mgr.wait_ready(10)
        wait_for(mgr.is_leader)
        url = f"http://127.0.0.1:{mgr.health.port}/metrics"
        running = [f'running_managed_controllers{{manager="cloud-controller-manager",name="{name}"}} 1.0'
                   for name in ("service", "cloud-node", "cloud-node-lifecycle")]

        def scrape_once_all_run() -> str | None:
            # the leader starts its controllers one after the other: each gauge is 1 once its own has started
            with urllib.request.urlopen(url, timeout=5) as r:
                text = r.read().decode()
            return text if all(line in text for line in running) else None

        text = wait_for(scrape_once_all_run, message="every controller reported running")
        host = apiserver.url.removeprefix("http://")
        assert 'leader_election_master_status{name="metrics-test"} 1.0' in text
        assert f'rest_client_requests_total{{code="200",host="{host}",method="GET"}}' in text
        assert f'rest_client_request_duration_seconds_count{{host="{host}",verb="PUT"}}' in text  # lease renewals
        assert f'rest_client_rate_limiter_duration_seconds_count{{host="{host}",verb="GET"}}' in text
        assert 'workqueue_depth{name="Nodes"}' in text
        assert "node_controller_cloud_provider_taint_removal_delay_seconds_bucket" in text
    finally:
        mgr.stop()
        client.close()
    from ccm.kube.leaderelection import MASTER_STATUS

    assert MASTER_STATUS.labels("metrics-test")._value.get() == 0  # stood down
