"""Client set-up: static credentials from the provider options instead of the environment."""

from __future__ import annotations

import pytest
from botocore.exceptions import NoCredentialsError

from tests.providers.aws.conftest import make_cloud
from tests.providers.aws.requests import request

KEYS = {"aws-access-key-id": "AKIDFROMOPTIONS", "aws-secret-access-key": "secret"}


@pytest.fixture
def no_ambient_credentials(monkeypatch, tmp_path):
    """An empty boto3 credential chain: no variables, no profile files, no instance metadata."""
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "absent"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_keys_in_options_sign_every_request_without_environment(moto, world, no_ambient_credentials):
    req = request(world)
    bare = make_cloud(moto, **dict.fromkeys(KEYS, ""))  # empty values: the boto3 chain
    try:
        with pytest.raises(NoCredentialsError):
            bare.load_balancer().get(req)
    finally:
        bare.close()
    cloud = make_cloud(moto, **KEYS)
    try:
        assert cloud.load_balancer().get(req) is None
    finally:
        cloud.close()
    assert "AKIDFROMOPTIONS" in moto.faults.access_keys


def test_keys_in_options_win_over_the_environment(moto, world, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    cloud = make_cloud(moto, **KEYS)
    try:
        cloud.load_balancer().ensure(request(world))
    finally:
        cloud.close()
    assert "AKIDFROMOPTIONS" in moto.faults.access_keys and "AKIDFROMENV" not in moto.faults.access_keys


@pytest.mark.parametrize("half", [{"aws-access-key-id": "AKID"}, {"aws-secret-access-key": "secret"}])
def test_half_a_key_pair_is_a_configuration_error(moto_server, half):
    with pytest.raises(ValueError, match="must be given together"):
        make_cloud(moto_server, **{**dict.fromkeys(KEYS, ""), **half})


def test_a_bad_number_option_names_the_option(moto_server):
    with pytest.raises(ValueError, match="aws-max-attempts='three'"):
        make_cloud(moto_server, **{"aws-max-attempts": "three"})


def test_every_request_lands_in_the_upstream_aws_metrics(cloud, moto, world):
    """cloudprovider_aws_api_request_duration_seconds / _errors / _throttled_requests_total, label request."""
    from prometheus_client import REGISTRY

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = sample("cloudprovider_aws_api_request_duration_seconds_count", request="create_load_balancer")
    cloud.load_balancer().ensure(request(world))
    assert sample("cloudprovider_aws_api_request_duration_seconds_count", request="create_load_balancer") == before + 1
    # (a NotFound answer is an error too, as upstream counts every call that returned one)
    errors = sample("cloudprovider_aws_api_request_errors_total", request="describe_load_balancers")
    throttled = sample("cloudprovider_aws_api_throttled_requests_total", operation_name="describe_load_balancers")
    moto.faults.throttle["DescribeLoadBalancers"] = 1  # botocore retries it once
    cloud.load_balancer().get(request(world))
    assert sample("cloudprovider_aws_api_request_errors_total", request="describe_load_balancers") == errors + 1
    assert sample("cloudprovider_aws_api_throttled_requests_total",
                  operation_name="describe_load_balancers") == throttled + 1
