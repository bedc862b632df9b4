"""VIP allocation table: ownership, persistence across restarts, atomic writes."""

from __future__ import annotations

import ipaddress
import json
import os
import stat
import tempfile
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from providers.local.options import DEFAULT_VIP_POOL, parse_options, proxy_protocol_sources
from providers.local.statedir import UnsafeStateDirectory
from providers.local.vips import Owner, VipTable

POOL = ipaddress.IPv4Network("127.0.2.0/30")  # two usable hosts: .1 and .2


def pool_metric(name: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"pool": str(POOL)})


def test_first_free_skips_network_and_held_and_usage_is_a_metric(tmp_path: Path) -> None:
    table = VipTable(POOL, tmp_path / "s.json")
    assert (pool_metric("ccm_local_vip_pool_addresses"), pool_metric("ccm_local_vip_pool_addresses_in_use")) == (2, 0)
    assert table.first_free() == "127.0.2.1"
    table.assign("127.0.2.1", Owner("c", "u1", "ns/a"))
    assert table.first_free() == "127.0.2.2"
    table.assign("127.0.2.2", Owner("c", "u2", "ns/b"))
    assert table.first_free() is None
    assert pool_metric("ccm_local_vip_pool_addresses_in_use") == 2
    table.release("127.0.2.1", "c", "u1")
    assert pool_metric("ccm_local_vip_pool_addresses_in_use") == 1


def test_assign_is_idempotent_and_refuses_foreign(tmp_path: Path) -> None:
    table = VipTable(POOL, tmp_path / "s.json")
    assert table.assign("127.0.2.1", Owner("c", "u1", "ns/a")) is True
    assert table.assign("127.0.2.1", Owner("c", "u1", "ns/a")) is False
    with pytest.raises(ValueError, match="held by ns/a of cluster c"):
        table.assign("127.0.2.1", Owner("other", "u9", "ns/z"))


def test_release_only_by_owner(tmp_path: Path) -> None:
    table = VipTable(POOL, tmp_path / "s.json")
    table.assign("127.0.2.1", Owner("c", "u1", "ns/a"))
    assert table.release("127.0.2.1", "c", "someone-else") is False
    assert table.owner_of("127.0.2.1") == Owner("c", "u1", "ns/a")
    assert table.release("127.0.2.1", "c", "u1") is True
    assert table.release("127.0.2.1", "c", "u1") is False
    assert table.owner_of("127.0.2.1") is None


def test_allocations_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "dir" / "s.json"
    VipTable(POOL, path).assign("127.0.2.2", Owner("c", "u2", "ns/b"))
    again = VipTable(POOL, path)
    assert again.ip_of("c", "u2") == "127.0.2.2"
    assert again.ip_of("other-cluster", "u2") is None
    data = json.loads(path.read_text())
    assert data["allocations"] == {"127.0.2.2": {"cluster": "c", "uid": "u2", "key": "ns/b"}}
    assert [p.name for p in path.parent.iterdir()] == ["s.json"]  # no temp file left behind


def test_two_processes_sharing_the_file_see_and_keep_each_others_allocations(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    first, second = VipTable(POOL, path), VipTable(POOL, path)  # both read the empty file first
    first.assign("127.0.2.1", Owner("c1", "u1", "ns/a"))
    assert second.first_free() == "127.0.2.2"
    assert second.owner_of("127.0.2.1") == Owner("c1", "u1", "ns/a")
    second.assign("127.0.2.2", Owner("c2", "u2", "ns/b"))
    assert first.release("127.0.2.2", "c1", "u2") is False  # not first's cluster
    assert set(json.loads(path.read_text())["allocations"]) == {"127.0.2.1", "127.0.2.2"}
    assert first.ip_of("c2", "u2") == "127.0.2.2" and first.first_free() is None


def test_corrupt_state_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match=r"s\.json is unreadable"):
        VipTable(POOL, path)


def test_options_defaults_and_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    opts = parse_options("my cluster", {})
    assert str(opts.vip_pool) == DEFAULT_VIP_POOL
    assert opts.vip_pool.subnet_of(ipaddress.IPv4Network("127.0.0.0/8"))
    assert opts.state_file == tmp_path / "ccm-local-my_cluster" / "state.json"
    assert opts.node_health_port == 10256
    with pytest.raises(ValueError, match="vip-pool"):
        parse_options("c", {"vip-pool": "not-a-cidr"})
    with pytest.raises(ValueError, match="IPv4"):
        parse_options("c", {"vip-pool": "fd00::/64"})
    with pytest.raises(ValueError, match="health-interval"):
        parse_options("c", {"health-interval": "-1"})
    assert parse_options("c", {"health-checks": "false"}).health_checks is False
    # an integer option never truncates to 0, and a misspelt switch is not silently "on"
    with pytest.raises(ValueError, match=r"unhealthy-threshold.*integer"):
        parse_options("c", {"unhealthy-threshold": "0.5"})
    with pytest.raises(ValueError, match=r"node-health-port.*integer"):
        parse_options("c", {"node-health-port": "10256.7"})
    with pytest.raises(ValueError, match="health-checks"):
        parse_options("c", {"health-checks": "flase"})
    assert parse_options("c", {"healthy-threshold": "3"}).healthy_threshold == 3


def test_default_state_directory_is_private_to_the_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Issue 8 hole 7: the state lived in a predictable /tmp/ccm-local-<cluster>, made with any mode."""
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the shared temp dir, in this test
    state = parse_options("c1", {}).state_file
    assert state.parent == tmp_path / f"ccm-local-{os.geteuid()}-c1"
    old_umask = os.umask(0o022)
    try:
        VipTable(POOL, state).assign("127.0.2.1", Owner("c1", "u", "ns/a"))
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(state.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize("make", ["world-writable", "group-writable", "symlink", "someone-else"])
def test_unsafe_state_directory_is_refused(tmp_path: Path, make: str) -> None:
    where = tmp_path / "state"
    if make == "symlink":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        where.symlink_to(tmp_path / "elsewhere")
        expected = "is a symbolic link"
    else:
        where.mkdir(mode=0o700)
        if make == "someone-else":
            if os.geteuid() != 0:
                pytest.skip("giving a directory to another user needs root")
            os.chown(where, 65534, 65534)
            expected = "is owned by uid 65534, not by this user"
        else:
            where.chmod(0o777 if make == "world-writable" else 0o770)
            expected = "is writable by group or others (mode 0" + ("777" if make == "world-writable" else "770")
    with pytest.raises(UnsafeStateDirectory, match=expected.replace("(", r"\(")) as raised:
        VipTable(POOL, where / "state.json")
    assert str(where) in str(raised.value)
    assert not (where / "state.json").exists()


def test_proxy_protocol_sources_are_the_vip_pool() -> None:
    assert proxy_protocol_sources() == (DEFAULT_VIP_POOL,)
    assert proxy_protocol_sources("127.0.5.9/24") == ("127.0.5.0/24",)
