"""Issue 8 item 7: at the highest verbosity no log line carries the AWS key id, secret or session token."""

from __future__ import annotations

import io
import logging

from ccm.kube.logging import setup_logging
from providers.port import Node
from tests.providers.aws.conftest import make_cloud

KEY_ID = "AKIAZZZZEXAMPLEKEY01"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRET"
SESSION_TOKEN = "FwoGZXIvYXdzEPLACEHOLDERSESSIONTOKEN0123456789"


def test_debug_logs_never_show_aws_credentials(moto, world):
    out = io.StringIO()
    root = logging.getLogger()
    saved = list(root.handlers), root.level, {n: logging.getLogger(n).level for n in ("botocore", "urllib3")}
    setup_logging("DEBUG", "text", stream=out)  # what `ccm controller -v 10` sets up
    try:
        cloud = make_cloud(moto, **{"aws-access-key-id": KEY_ID, "aws-secret-access-key": SECRET,
                                    "aws-session-token": SESSION_TOKEN})
        try:
            cloud.instances().instance_exists(Node("n", provider_id=world.provider_id(world.instances[0])))
        finally:
            cloud.close()
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)
    assert KEY_ID in moto.faults.access_keys  # the request really was signed with these credentials
    text = out.getvalue()
    for secret in (KEY_ID, SECRET, SESSION_TOKEN):
        assert secret not in text


def test_credentials_from_the_environment_or_a_shared_credentials_file(moto, world, monkeypatch, tmp_path):
    """Issue 8 item 7: nothing secret needs to be a flag; the standard AWS chain is used."""
    from providers.aws import create
    from providers.port import ProviderContext
    from tests.providers.aws.harness import CLUSTER, REGION

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    context = ProviderContext(CLUSTER, {"aws-endpoint-url": moto.url, "aws-region": REGION})
    node = Node("n", provider_id=world.provider_id(world.instances[0]))

    def signed_with() -> set[str]:
        moto.faults.access_keys.clear()
        cloud = create(context)
        try:
            assert cloud.instances().instance_exists(node)
        finally:
            cloud.close()
        return set(moto.faults.access_keys)

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENVIRONMENT1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "from-the-environment")
    assert signed_with() == {"AKIAFROMENVIRONMENT1"}

    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    shared = tmp_path / "credentials"
    shared.write_text("[ccm]\naws_access_key_id = AKIAFROMPROFILEFILE1\naws_secret_access_key = from-a-file\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
    monkeypatch.setenv("AWS_PROFILE", "ccm")
    assert signed_with() == {"AKIAFROMPROFILEFILE1"}
