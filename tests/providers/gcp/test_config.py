"""gce.conf and the flags: upstream's keys, unknown keys named, flags over the file."""

from __future__ import annotations

import pytest

from providers.cloudconfig import load_cloud_config
from providers.gcp.cloud import config_from_options
from providers.gcp.config import ConfigError, build_config, parse_gce_conf

CONF = """
[Global]
project-id = my-project
network-name = "vpc-1"
subnetwork-name = nodes   ; trailing comment
node-tags = k8s-a
node-tags = k8s-b, k8s-c
node-instance-prefix = gke-
regional = true
multizone = false
local-zone = europe-west1-b
"""


def test_upstream_keys_and_repeated_tags():
    cfg = build_config(parse_gce_conf(CONF))
    assert (cfg.project, cfg.region, cfg.network, cfg.subnetwork) == ("my-project", "europe-west1", "vpc-1", "nodes")
    assert cfg.node_tags == ("k8s-a", "k8s-b", "k8s-c") and cfg.node_instance_prefix == "gke-"
    assert cfg.regional and not cfg.multizone and cfg.local_zone == "europe-west1-b"


def test_flags_win_over_the_file(tmp_path):
    path = tmp_path / "gce.conf"
    path.write_text(CONF)
    options = load_cloud_config("gcp", str(path))  # what ccm controller --cloud-config reads
    cfg = config_from_options({**options, "gcp-project": "p2", "gcp-region": "us-east1",
                               "gcp-endpoint-url": "http://127.0.0.1:1"})
    assert (cfg.project, cfg.region, cfg.endpoint, cfg.network) == ("p2", "us-east1", "http://127.0.0.1:1", "vpc-1")
    assert cfg.node_tags == ("k8s-a", "k8s-b", "k8s-c")


def test_an_unknown_option_is_an_error_naming_it():
    with pytest.raises(ValueError, match="unknown option gcp-zone"):
        config_from_options({"gcp-project": "p", "gcp-region": "r", "gcp-zone": "z"})


@pytest.mark.parametrize(("text", "needle"), [
    ("[global]\nproject-id = p\ntoken-url = x\n", "unknown key 'token-url'"),
    ("[global]\nProject-ID = p\nnetwork = x\n", "unknown key 'network'"),
    ("[other]\nproject-id = p\n", "unknown section [other]"),
    ("project-id = p\n", "outside the [global] section"),
    ("[global]\nproject-id = a\nproject-id = b\n", "given twice"),
    ("[global]\nregional = maybe\nproject-id = p\nlocal-zone = z-1-a\n", "not a boolean"),
], ids=["unknown-key", "case-insensitive-known-unknown", "section", "no-section", "twice", "bool"])
def test_mistakes_are_start_up_errors_naming_them(text, needle):
    with pytest.raises(ConfigError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        build_config(parse_gce_conf(text))


def test_project_and_region_are_required():
    with pytest.raises(ConfigError, match="--gcp-project"):
        build_config({})
    with pytest.raises(ConfigError, match="--gcp-region"):
        build_config({}, project="p")
