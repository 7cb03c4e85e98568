"""A self-signed serving certificate for the Kubernetes API listener.

kubectl (client-go ``clientcmd``) sends a kubeconfig's credentials only to an ``https`` server
(``IsConfigTransportTLS``), so the KUBE listener speaks TLS; the kubeconfig carries this
certificate as ``certificate-authority-data``.

The ``openssl`` command makes it when it is on PATH (15 ms, nothing loaded into the server);
otherwise the ``cryptography`` package does (about 60 ms to import and 10 MB of memory for the
server's lifetime, which the benchmark's memory figure would carry).
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import ssl
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from emulator.private_files import write_private


@dataclass(frozen=True)
class ServingCert:
    """The certificate (for clients' CA data) and a server context already holding the key:
    nothing of it stays on disk, however the process ends."""

    cert_pem: bytes
    context: ssl.SSLContext


def _names(host: str) -> tuple[list[str], list[str]]:
    dns, ips = ["localhost", "kubernetes", "kubernetes.default.svc"], ["127.0.0.1", "::1"]
    try:
        ipaddress.ip_address(host)
        if host not in ips:
            ips.append(host)
    except ValueError:
        if host and host not in dns:
            dns.append(host)
    return dns, ips


COMMON_NAME = "kfp-isolation-kube-apiserver"
VALID_DAYS = 3650


def serving_cert(host: str) -> ServingCert:
    """A fresh key and certificate for ``host`` (plus localhost), loaded into a server context.

    The files ``ssl`` needs to load them live only inside this call, in an owner-only folder."""
    with tempfile.TemporaryDirectory(prefix="kfp-iso-kube-") as folder:
        cert_file, key_file = Path(folder) / "tls.crt", Path(folder) / "tls.key"
        openssl = shutil.which("openssl")
        if openssl is None or not _with_openssl(openssl, host, cert_file, key_file):
            cert_pem, key_pem = _with_cryptography(host)
            cert_file.write_bytes(cert_pem)
            write_private(key_file, key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert_file), str(key_file))
        return ServingCert(cert_file.read_bytes(), context)


def _with_openssl(openssl: str, host: str, cert_file: Path, key_file: Path) -> bool:
    dns, ips = _names(host)
    names = ",".join([f"DNS:{d}" for d in dns] + [f"IP:{i}" for i in ips])
    command = [
        openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", str(key_file), "-out", str(cert_file), "-days", str(VALID_DAYS),
        "-subj", f"/CN={COMMON_NAME}", "-addext", f"subjectAltName={names}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
        "-addext", "extendedKeyUsage=serverAuth",
    ]
    try:
        done = subprocess.run(command, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0 and cert_file.exists() and key_file.exists()


def _with_cryptography(host: str) -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    dns, ips = _names(host)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, COMMON_NAME)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName(d) for d in dns]
            + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert_pem, key_pem
