"""Who the function is inside the sandbox: Lambda's unprivileged user, and the minimal
/etc that names it (with the name service, DNS and CA files a function uses).

Lambda runs functions as `sbx_user1051`, uid 993 and gid 990 on current runtimes (its
/etc/passwd reads `sbx_user1051:x:993:990::/home/sbx_user1051:/sbin/nologin`, as dumps
of it show; AWS documents only that code runs without root). The host's /etc is never
shown to the function: it would show the machine's users, and a root function could read
/etc/shadow.
"""

from __future__ import annotations

import shutil
import ssl
from pathlib import Path

SANDBOX_USER = "sbx_user1051"
SANDBOX_UID = 993
SANDBOX_GID = 990

# The host files that stand in for Lambda's: its DNS resolver and CA bundle.
_RESOLV_CONF = Path("/etc/resolv.conf")
_CA_CANDIDATES = (
    Path("/etc/ssl/certs/ca-certificates.crt"),  # Debian, Ubuntu, Alpine
    Path("/etc/pki/tls/certs/ca-bundle.crt"),  # Amazon Linux, Fedora, RHEL
    Path("/etc/ssl/cert.pem"),
)
# Host files bound (read-only) onto placeholders in the function's /etc: the dynamic
# linker's cache and Debian's alternatives are how the host's /usr finds its own parts.
HOST_ETC_BINDS = ("ld.so.cache", "alternatives")

_PASSWD = f"""\
root:x:0:0:root:/root:/bin/bash
nobody:x:65534:65534:Kernel Overflow User:/:/sbin/nologin
{SANDBOX_USER}:x:{SANDBOX_UID}:{SANDBOX_GID}::/home/{SANDBOX_USER}:/sbin/nologin
"""
_GROUP = f"""\
root:x:0:
nobody:x:65534:
{SANDBOX_USER}:x:{SANDBOX_GID}:
"""
_HOSTS = """\
127.0.0.1   localhost localhost.localdomain localhost4 localhost4.localdomain4
::1         localhost localhost.localdomain localhost6 localhost6.localdomain6
"""
_NSSWITCH = """\
passwd: files
group: files
shadow: files
hosts: files dns
networks: files
protocols: files
services: files
"""


def host_ca_bundle() -> Path | None:
    """The host's CA bundle (PEM), which the function's /etc carries as Lambda's."""
    default = ssl.get_default_verify_paths().cafile
    for candidate in (*_CA_CANDIDATES, *([Path(default)] if default else [])):
        if candidate.is_file():
            return candidate
    return None


def write_etc(dest: Path) -> Path:
    """Write the function's /etc into `dest` (made here) and return it.

    The CA bundle is where Amazon Linux keeps it (/etc/pki/tls/certs/ca-bundle.crt, with
    /etc/ssl/certs a link to that directory, as on AL2023), also under Debian's name
    (ca-certificates.crt) so that an OpenSSL built for the host finds it.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for name, text in (
        ("passwd", _PASSWD), ("group", _GROUP), ("hosts", _HOSTS), ("nsswitch.conf", _NSSWITCH),
        ("hostname", "localhost\n"),
    ):  # fmt: skip
        (dest / name).write_text(text, encoding="utf-8")
    resolv = dest / "resolv.conf"
    try:
        shutil.copyfile(_RESOLV_CONF, resolv)
    except OSError:
        resolv.write_text("", encoding="utf-8")
    certs = dest / "pki/tls/certs"
    certs.mkdir(parents=True, exist_ok=True)
    ca = host_ca_bundle()
    if ca is not None:
        shutil.copyfile(ca, certs / "ca-bundle.crt")
        (certs / "ca-certificates.crt").symlink_to("ca-bundle.crt")
        (dest / "pki/tls/cert.pem").symlink_to("certs/ca-bundle.crt")
    (dest / "ssl").mkdir(exist_ok=True)
    (dest / "ssl/certs").symlink_to("../pki/tls/certs")
    (dest / "ssl/cert.pem").symlink_to("../pki/tls/cert.pem")
    for name in HOST_ETC_BINDS:
        host = Path("/etc", name)
        if host.is_dir():
            (dest / name).mkdir(exist_ok=True)
        elif host.is_file():
            (dest / name).touch()
    for path in (dest, *dest.rglob("*")):
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
    return dest
