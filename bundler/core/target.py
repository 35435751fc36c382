"""The deployment target: which Lambda the artifacts are for."""

from __future__ import annotations

import dataclasses
import platform

from bundler.core.errors import UsageError

PYTHON_VERSIONS = ("3.10", "3.11", "3.12", "3.13", "3.14")
ARCHITECTURES = ("x86_64", "arm64")

# Lambda's glibc per managed runtime: python3.10-3.11 run on Amazon Linux 2 (glibc 2.26),
# python3.12+ and provided.al2023 on Amazon Linux 2023 (glibc 2.34).
# https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
_GLIBC_AL2 = (2, 26)
_GLIBC_AL2023 = (2, 34)


@dataclasses.dataclass(frozen=True)
class Target:
    """CPython minor version, architecture and Lambda runtime identifier."""

    python: str = "3.12"
    arch: str = "x86_64"
    # Empty means AWS's managed runtime for `python`, started through lambundle's exec
    # wrapper: it deploys without an embedded interpreter, unlike provided.al2023.
    runtime: str = ""

    def __post_init__(self) -> None:
        if not self.runtime:
            object.__setattr__(self, "runtime", f"python{self.python}")
        if self.python not in PYTHON_VERSIONS:
            msg = (
                f"Unknown Python version {self.python!r} for Lambda; "
                f"choose one of {', '.join(PYTHON_VERSIONS)}."
            )
            raise UsageError(msg)
        if self.arch not in ARCHITECTURES:
            msg = f"Unknown architecture {self.arch!r}; choose x86_64 or arm64."
            raise UsageError(msg)
        if self.runtime not in ("provided.al2023", "provided.al2") and not self.managed:
            msg = (
                f"Unknown runtime {self.runtime!r}; use python{self.python} "
                "(AWS's managed runtime) or provided.al2023 (lambundle's own bootstrap)."
            )
            raise UsageError(msg)
        if self.managed and self.runtime != f"python{self.python}":
            msg = (
                f"Runtime {self.runtime} runs Python {self.runtime[6:]}, not {self.python}; "
                f"pass --python {self.runtime[6:]} or --runtime python{self.python}."
            )
            raise UsageError(msg)

    @property
    def managed(self) -> bool:
        """True for AWS's managed Python runtimes (`python3.12`), False for OS-only ones."""
        return self.runtime.startswith("python")

    @property
    def glibc(self) -> tuple[int, int]:
        if self.runtime == "provided.al2" or (
            self.managed and self.python in ("3.10", "3.11")
        ):
            return _GLIBC_AL2
        return _GLIBC_AL2023

    @property
    def machine(self) -> str:
        """The machine name used in wheel platform tags."""
        return "aarch64" if self.arch == "arm64" else "x86_64"

    @property
    def cp_tag(self) -> str:
        return "cp" + self.python.replace(".", "")

    @property
    def site_packages(self) -> str:
        """Lambda's Python layer site dir, relative to /opt."""
        return f"python/lib/python{self.python}/site-packages"


def host_arch() -> str:
    """The Lambda architecture name of this machine."""
    return "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
