"""TLS for ccm's servers: the given certificate, or a self-signed one that never touches the disk.

A leaf module (the standard library and ``cryptography`` only) shared by the controller's secure
port (``ccm.kube.secure``) and the embedded API server, which may import nothing else of ccm.

Upstream (``MaybeDefaultWithSelfSignedCerts("localhost", nil, [127.0.0.1])``) makes a CA and a
serving certificate signed by it for ``localhost``/``127.0.0.1`` when no certificate files are
given, and keeps both in memory; scrapers then need ``insecure_skip_verify`` or a real certificate.
Python's ``ssl`` loads certificates only from paths, so the PEM goes through a memfd (an
anonymous in-memory file, Linux) or, elsewhere, a private temporary directory removed at once.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import ssl
import tempfile
from collections.abc import Iterator, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PAIR_NAME = "cloud-controller-manager"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def self_signed(hosts: Sequence[str] = ("localhost",), ips: Sequence[str] = ("127.0.0.1",),
                days: int = 365) -> tuple[bytes, bytes, bytes]:
    """(serving certificate chain PEM, its key PEM, CA certificate PEM) for ``hosts`` and ``ips``."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{hosts[0] if hosts else 'localhost'}-ca@{int(now.timestamp())}")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=days))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(h) for h in hosts]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    cert = (x509.CertificateBuilder().subject_name(_name(f"{hosts[0] if hosts else PAIR_NAME}@{int(now.timestamp())}"))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    chain = cert.public_bytes(pem) + ca.public_bytes(pem)
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return chain, key_pem, ca.public_bytes(pem)


@contextlib.contextmanager
def _in_memory_files(*blobs: bytes) -> Iterator[list[str]]:
    """Paths that read back ``blobs``: memfds where the OS has them, else 0600 files in a 0700 temp dir."""
    if hasattr(os, "memfd_create"):
        fds = []
        try:
            for blob in blobs:
                fd = os.memfd_create("ccm-tls", 0)
                fds.append(fd)
                os.write(fd, blob)
            yield [f"/proc/self/fd/{fd}" for fd in fds]
        finally:
            for fd in fds:
                os.close(fd)
        return
    with tempfile.TemporaryDirectory(prefix="ccm-tls-") as d:
        paths = []
        for i, blob in enumerate(blobs):
            path = os.path.join(d, str(i))
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
                f.write(blob)
            paths.append(path)
        yield paths


def server_context(cert_file: str | None = None, key_file: str | None = None, *,
                   hosts: Sequence[str] = ("localhost",),
                   ips: Sequence[str] = ("127.0.0.1",)) -> tuple[ssl.SSLContext, bytes | None]:
    """A server context (TLS 1.2+) and, for a self-signed certificate, its CA PEM (else None).

    Both files or neither: one without the other is a configuration error naming both flags.
    """
    if bool(cert_file) != bool(key_file):
        raise ValueError("--tls-cert-file and --tls-private-key-file must be given together")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file and key_file:
        try:
            ctx.load_cert_chain(cert_file, key_file)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"cannot load --tls-cert-file {cert_file} / --tls-private-key-file {key_file}: "
                             f"{exc}") from None
        return ctx, None
    chain, key, ca = self_signed(hosts, ips)
    with _in_memory_files(chain, key) as (chain_path, key_path):
        ctx.load_cert_chain(chain_path, key_path)
    return ctx, ca
