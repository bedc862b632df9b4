"""Issue 8 item 7: at the highest verbosity no log line carries the AWS key id, secret or session token."""

from __future__ import annotations

import io
import logging

from ccm.kube.logging import setup_logging
from providers.base import Node
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
