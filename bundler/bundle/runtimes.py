"""What AWS's managed Python runtimes (`python3.X`) carry besides the interpreter, and where.

Read by the sandbox, which installs the same into its emulation of the runtime
(bundler.sandbox.managed_runtime), and by `inspect`, which says which of a function's
imports it takes from the runtime rather than from the bundle.

Every python3.X runtime carries AWS's runtime client (awslambdaric, under /var/runtime) and
the AWS SDK for Python (boto3 and its dependencies). Where the SDK is depends on the
version (python-image.html, "dependency search path"): python3.11 and later install it
into the interpreter's own /var/lang/lib/python3.X/site-packages, which precedes
/var/runtime on sys.path; python3.10 into /var/runtime. AWS no longer documents which SDK
version each runtime has ("it depends on the runtime version and your AWS Region",
lambda-python.html, "Runtime-included SDK versions"), so every runtime gets the same
pins, `SDK_PINS`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from bundler.core.cache import default_root
from bundler.core.target import PYTHON_VERSIONS

# awslambdaric and its dependencies, pinned with every file's sha256 (all Pythons and
# architectures), as the sandbox installs them under /var/runtime.
CLIENT_PINS = Path(__file__).with_name("managed-client.txt")
# boto3 and its dependencies, pinned likewise.
SDK_PINS = Path(__file__).with_name("managed-sdk.txt")
RUNTIME_DIR = "/var/runtime"
# Written last into an installed emulation's cache entry: the entry is complete.
INSTALLED_MARKER = ".lambundle-complete"


def installs_root() -> Path:
    """Where the sandbox installs its emulations: under lambundle's one cache root, so
    LAMBUNDLE_CACHE_DIR moves it too."""
    return default_root() / "managed"


def install_name(python: str, arch: str) -> str:
    """The cache entry of the emulation for one Python and architecture, keyed by both
    pins files, so new pins (or an install from before they were hashed) are never taken
    for the current ones. The build reads it too, to know without importing the sandbox
    whether the install is done."""
    digest = hashlib.sha256(CLIENT_PINS.read_bytes() + SDK_PINS.read_bytes())
    return f"{python}-{arch}-{digest.hexdigest()[:12]}"

# The top-level modules each pinned distribution installs (its top_level.txt), so that an
# import can be told to come from the runtime. A test holds these to the installed files.
_CLIENT_MODULES = {
    "awslambdaric": ("awslambdaric", "runtime_client"),  # its C extension, at the top
    "simplejson": ("simplejson",),
    "snapshot-restore-py": ("snapshot_restore_py",),
}
_SDK_MODULES = {
    "boto3": ("boto3",),
    "botocore": ("botocore",),
    "jmespath": ("jmespath",),
    "python-dateutil": ("dateutil",),
    "s3transfer": ("s3transfer",),
    "six": ("six",),
    "urllib3": ("urllib3",),
}


@dataclasses.dataclass(frozen=True)
class ManagedRuntime:
    """One python3.X runtime: where its SDK is, and which top-level modules it provides."""

    name: str
    python: str
    sdk_dir: str
    modules: frozenset[str]

    @property
    def sdk_in_runtime_dir(self) -> bool:
        return self.sdk_dir == RUNTIME_DIR


def managed_runtime(python: str) -> ManagedRuntime:
    """The python`python` runtime (`python` is "3.12" and the like)."""
    if python not in PYTHON_VERSIONS:
        msg = f"no managed runtime for Python {python!r}"
        raise ValueError(msg)
    minor = int(python.split(".")[1])
    sdk_dir = RUNTIME_DIR if minor < 11 else f"/var/lang/lib/python{python}/site-packages"
    modules = frozenset(
        name for names in (*_CLIENT_MODULES.values(), *_SDK_MODULES.values()) for name in names
    )
    return ManagedRuntime(f"python{python}", python, sdk_dir, modules)


def pinned_versions(pins: Path) -> dict[str, str]:
    """{distribution: version} of a hash-pinned requirements file."""
    found = {}
    for line in pins.read_text(encoding="utf-8").splitlines():
        if line[:1].isalnum() and "==" in line:
            name, _, rest = line.partition("==")
            found[name.strip().lower()] = rest.split()[0].rstrip("\\").strip()
    return found


def sdk_version() -> str:
    """The boto3 version the managed runtimes carry here."""
    return pinned_versions(SDK_PINS)["boto3"]


def distribution_modules() -> dict[str, tuple[str, ...]]:
    """{distribution: its top-level modules} for everything a managed runtime carries."""
    return {**_CLIENT_MODULES, **_SDK_MODULES}
