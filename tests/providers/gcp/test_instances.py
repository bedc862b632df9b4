"""The GCP instances capability against the GCE emulator: lookups, states, addresses, provider ids."""

from __future__ import annotations

import pytest

from providers.gcp.instances import parse_provider_id
from providers.instances import InstanceNotFound
from providers.port import Node
from tests.providers.gcp.conftest import PROJECT, REGION, provider_id


@pytest.mark.parametrize("bad", ["aws:///us-east-1a/i-1", "gce://p/z", "gce://p//n", "node-a1"])
def test_parse_provider_id_rejects(bad):
    with pytest.raises(ValueError):
        parse_provider_id(bad)


def test_lookups_states_and_metadata(gce, cloud):
    inst = cloud.instances()
    by_id = Node("node-a1", provider_id("us-central1-a", "node-a1"))
    by_name = Node("node-b1.c.ccm-test.internal")
    meta = inst.instance_metadata(by_id)
    assert meta.provider_id == provider_id("us-central1-a", "node-a1")
    assert (meta.instance_type, meta.zone, meta.region) == ("e2-medium", "us-central1-a", REGION)
    assert [a.type for a in meta.node_addresses] == ["InternalIP"]
    assert inst.instance_metadata(by_name).provider_id == f"gce://{PROJECT}/us-central1-b/node-b1"
    assert inst.instance_exists(by_id) and not inst.instance_shutdown(by_id)
    gce.set_instance_status(PROJECT, "us-central1-a", "node-a1", "TERMINATED")
    assert inst.instance_exists(by_id) and inst.instance_shutdown(by_id)
    gone = Node("x", provider_id("us-central1-a", "nope"))
    assert not inst.instance_exists(gone) and not inst.instance_shutdown(gone)
    with pytest.raises(InstanceNotFound):
        inst.instance_metadata(gone)
