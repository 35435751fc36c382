"""Source distributions: fetched by hash, their build requirements read without running them.

pip builds an sdist in an isolated environment whose build dependencies (setuptools,
Cython, ...) it downloads without checking any hash. To keep every install hash-checked,
lambundle locks those build dependencies itself: `--docker` hands pip the lock as a build
constraint (`pip wheel --build-constraint`, pip 26.2 and later), which pip then enforces
with hashes, and a pure-Python sdist built here gets an environment of exactly that lock
(`bundler.sources.sdist_build`). Both need the sdist's `[build-system] requires` before
anything is built: the sdist is fetched here from the index pip uses
(`bundler.sources.index`), checked against the lock's sha256, and its `pyproject.toml`
read from the archive without unpacking or running anything.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement

from bundler.core.cache import Cache, file_sha256
from bundler.core.errors import BundlerError
from bundler.sources import references
from bundler.sources.index import Index, IndexUnavailable, PackageIndex
from bundler.sources.lock import Pin

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

# What pip builds a project with that declares no [build-system] (PEP 518's default).
LEGACY_BUILD_REQUIRES = ("setuptools>=40.8.0",)
_SDIST_SUFFIXES = (".tar.gz", ".zip")
_PYPROJECT_MAX_BYTES = 1 << 20


class SdistError(BundlerError):
    """An sdist could not be fetched or read."""


def fetch_sdist(pin: Pin, cache: Cache, index: Index | None = None) -> Path:
    """The sdist of `pin` whose sha256 the lock lists, from the cache or the index."""
    wanted = sorted(h.split(":", 1)[1] for h in pin.hashes if h.startswith("sha256:"))
    for sha in wanted:
        entry = cache.dir("sdists", sha)
        if entry is not None:
            found = [p for p in entry.iterdir() if p.name.endswith(_SDIST_SUFFIXES)]
            if found and file_sha256(found[0]) == sha:
                return found[0]
            cache.remove("sdists", sha)  # damaged: fetch it again
    index = index or PackageIndex()
    try:
        files = index.files(pin.name) or []
    except IndexUnavailable as exc:
        msg = f"Cannot read the index to fetch {pin.name}=={pin.version}: {exc}"
        raise SdistError(msg) from None
    for item in files:
        if item.sha256 in wanted and item.filename.endswith(_SDIST_SUFFIXES):
            return _download(item.url, item.filename, item.sha256, cache)
    msg = (
        f"The index at {index.url} lists no sdist of {pin.name}=={pin.version} with the "
        "lock's hashes; lock again (`lambundle lock --refresh`) or check PIP_INDEX_URL."
    )
    raise SdistError(msg)


def _download(url: str, name: str, sha: str, cache: Cache) -> Path:
    import requests

    def build(tmp: Path) -> None:
        path = tmp / name
        digest = hashlib.sha256()
        try:
            with requests.get(url, stream=True, timeout=300,
                              verify=os.environ.get("PIP_CERT") or True) as response:  # fmt: skip
                response.raise_for_status()
                with path.open("wb") as out:
                    for chunk in response.iter_content(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
        except requests.RequestException as exc:
            msg = f"Downloading {url} failed: {exc}"
            raise SdistError(msg) from None
        if digest.hexdigest() != sha:
            msg = (
                f"{url} has sha256 {digest.hexdigest()}, not the lock's {sha}: the index "
                "served other bytes; nothing was built."
            )
            raise SdistError(msg)

    return cache.put_dir("sdists", sha, build) / name


def build_requirements(sdist: Path) -> list[str]:
    """The sdist's `[build-system] requires` (PEP 518), or setuptools when it has none."""
    text = _top_level_file(sdist, "pyproject.toml")
    if text is None:
        return list(LEGACY_BUILD_REQUIRES)
    try:
        table = tomllib.loads(text.decode("utf-8")).get("build-system")
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        msg = f"{sdist.name}: its pyproject.toml cannot be read ({exc})."
        raise SdistError(msg) from None
    if not isinstance(table, dict) or "requires" not in table:
        return list(LEGACY_BUILD_REQUIRES)
    requires = table["requires"]
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        msg = f"{sdist.name}: [build-system] requires must be a list of strings (PEP 518)."
        raise SdistError(msg)
    for requirement in requires:
        try:
            Requirement(requirement)
        except InvalidRequirement as exc:
            msg = f"{sdist.name}: build requirement {requirement!r} is not valid ({exc})."
            raise SdistError(msg) from None
        kind = references.direct_reference(requirement)
        if kind is not None:
            msg = (
                f"{sdist.name}: its build requires {requirement!r}, a direct reference to "
                f"{kind}, which cannot be hash-checked; nothing was built. Pin another "
                "version of the package, or build its wheel yourself and vendor it."
            )
            raise SdistError(msg)
    return list(requires)


def _top_level_file(sdist: Path, name: str) -> bytes | None:
    """`<project-version>/<name>` from the archive, read in memory; None if absent."""

    def wanted(member: str) -> bool:
        parts = PurePosixPath(member).parts
        return len(parts) == 2 and parts[1] == name

    try:
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as zf:
                info = next((i for i in zf.infolist() if wanted(i.filename)), None)
                if info is None or info.file_size > _PYPROJECT_MAX_BYTES:
                    return None
                return zf.read(info)
        with tarfile.open(sdist, "r:gz") as tf:
            for member in tf:
                if wanted(member.name) and member.isfile():
                    if member.size > _PYPROJECT_MAX_BYTES:
                        return None
                    handle = tf.extractfile(member)
                    return handle.read() if handle is not None else None
    except (OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
        msg = f"{sdist.name} is not a readable sdist ({exc})."
        raise SdistError(msg) from None
    return None
