"""Direct references: requirements that name a URL, a path or a repository, not a release.

`pkg @ git+https://...`, `pkg @ https://.../pkg.whl`, a bare `./pkg` or `pkg-1.0.tar.gz`,
`-e .`: pip and uv fetch such a requirement while resolving and, for anything but a wheel,
run its build (`setup.py`) on the machine that resolves, before any hash is checked; and
there is no hash to pin it by. lambundle ships hash-pinned releases from a package index,
so every requirement source (requirements files, `[project]`, Poetry, Pipfile, PEP 723) is
checked here before anything resolves (PEP 508 "direct references", PEP 440 "Direct
references"; pip's own rules for what looks like a path or an archive).
"""

from __future__ import annotations

import re

from packaging.requirements import InvalidRequirement, Requirement

from bundler.core.errors import ProjectError

_VCS = re.compile(r"^(git|hg|svn|bzr)\+", re.IGNORECASE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# What pip takes for an archive file when it stands where a name should (pip's
# `is_archive_file`): `pkg-1.0.tar.gz` on a line is a path, not a project name.
_ARCHIVES = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar", ".zip")
HOW_TO_SHIP = (
    "lambundle installs hash-pinned releases from a package index only, and resolving a "
    "URL, path or repository would fetch it and run its build on this machine. Publish "
    "{name} to an index and require it by version, or build a wheel of it and vendor its "
    "code in the function directory."
)


def check_requirement(text: str, where: str) -> str:
    """`text` as a normalised PEP 508 requirement; a direct reference or an invalid
    requirement is a ProjectError naming `where` (a file, or file:line)."""
    kind = _bare_reference(text)
    if kind is not None:
        raise ProjectError(refused(text, where, kind))
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        msg = f"{where}: {text!r} is not a valid requirement ({exc})."
        raise ProjectError(msg) from None
    if req.url:
        raise ProjectError(refused(text, where, _url_kind(req.url), req.name))
    if req.name.lower().endswith(_ARCHIVES):
        raise ProjectError(refused(text, where, "an archive file"))
    return str(req)


def refused(text: str, where: str, kind: str, name: str | None = None) -> str:
    """The message for a direct reference `text` (of `kind`) in `where`."""
    return (
        f"{where}: {text.strip()!r} is a direct reference to {kind}, not a release. "
        + HOW_TO_SHIP.format(name=name or "the package")
    )


def direct_reference(text: str) -> str | None:
    """What `text` points at ("a git repository", "a URL", "a local path", ...) when it is
    a direct reference of any form; None for a requirement of a release, or no requirement."""
    kind = _bare_reference(text)
    if kind is not None:
        return kind
    try:
        req = Requirement(text)
    except InvalidRequirement:
        return None
    if req.url:
        return _url_kind(req.url)
    return "an archive file" if req.name.lower().endswith(_ARCHIVES) else None


def _bare_reference(text: str) -> str | None:
    """What a requirement that is a URL or a path and not `name @ ...` points at."""
    head = text.strip().split(";", 1)[0].strip()
    if "@" in head.split("://", 1)[0] and not _SCHEME.match(head) and not _VCS.match(head):
        return None  # `name @ url`: Requirement parses it, and its url is checked
    if _VCS.match(head) or _SCHEME.match(head) or head.lower().startswith("file:"):
        return _url_kind(head)
    if head.startswith((".", "/", "~", "\\")) or "/" in head or "\\" in head:
        return "a local path"
    if re.match(r"^[A-Za-z]:[\\/]", head):
        return "a local path"
    return None


def _url_kind(url: str) -> str:
    vcs = _VCS.match(url)
    if vcs:
        return f"a {vcs.group(1).lower()} repository"
    if url.lower().startswith("file:"):
        return "a local path"
    return "a URL"
