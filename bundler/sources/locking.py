"""Which lock a project gets: the one its own lock file decides, or one resolved for it.

A project with a uv.lock, poetry.lock or Pipfile.lock is not resolved at all: the lock is
that file's pins for the target (one such file at most). Otherwise its requirements are
resolved by uv or pip-tools (`bundler.sources.resolver`) and the lock is cached by its
inputs (requirements, target, resolver): the same inputs give back the same lock without
running a resolver.
"""

from __future__ import annotations

import platform
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from bundler.core.cache import Cache
from bundler.core.errors import LockError, ProjectError
from bundler.core.progress import Report
from bundler.core.target import Target
from bundler.sources import pipenv, poetry_lock, sdist_build, uv_lock
from bundler.sources import resolver as resolvers
from bundler.sources.lock import LOCK_FILE, Lock, constrain, requirements_for_target
from bundler.sources.project import Project, parse_requirements_file


def lock_project(
    project: Project,
    target: Target,
    *,
    resolver: str = "auto",
    cache: Cache,
    report: Report | None = None,
    refresh: bool = False,
    image: resolvers.ImageRunner | None = None,
) -> Lock:
    """The hash-pinned lock of `project`'s requirements for `target`.

    Reused from the cache while the requirements, the target and the resolver are the same;
    `refresh=True` resolves again (to pick up new releases) and replaces the cached lock.
    With `image` (Lambda's build image, for --docker) a distribution with no wheel for the
    target may be pinned to its sdist, hash and all, and the resolver runs in the image:
    reading an sdist's metadata runs its code, never on this machine. Without it, wheels
    only, and pure-Python sdists built here in an isolated environment (sdist_build).
    """
    say = report or (lambda _msg: None)
    check_requires_python(project, target)
    decided = _lock_from_lock_file(project, target, refresh, say)
    if decided is not None:
        if image is not None:  # --docker builds what has no wheel, in Lambda's image
            return decided
        return sdist_build.build_locked(decided, target, cache=cache, report=say)
    if not project.is_script and poetry_lock.uses_poetry(project.root):
        say(
            "No poetry.lock: versions come from pyproject.toml's Poetry constraints "
            "(run `poetry lock` to pin them)"
        )
    return _resolved_lock(project, target, resolver, cache, say, refresh, image)


def _lock_from_lock_file(
    project: Project, target: Target, refresh: bool, say: Report
) -> Lock | None:
    """The lock the project's own uv.lock, poetry.lock or Pipfile.lock decides (one at
    most), or None when it has none."""
    if project.is_script:
        return None
    found = [
        (path, upgrade)
        for path, upgrade in (
            (uv_lock.project_uv_lock(project.root), "uv lock --upgrade"),
            (poetry_lock.project_poetry_lock(project.root), "poetry update"),
            (pipenv.project_pipfile_lock(project.root), "pipenv lock"),
        )
        if path is not None
    ]
    if not found:
        return None
    if len(found) > 1:
        names = [path.name for path, _ in found]
        msg = (
            f"{project.root} has {' and '.join(names)}, and each would decide the "
            "versions; delete the ones the project no longer uses."
        )
        raise LockError(msg)
    path, upgrade = found[0]
    if refresh:
        say(f"--refresh does not apply: {path} decides the versions (`{upgrade}`)")
    if path.name == pipenv.PIPFILE_LOCK:
        decided = pipenv.lock_from_pipfile_lock(project.name, project.root, target, say)
    elif path.name == uv_lock.UV_LOCK:
        decided = uv_lock.lock_from_uv_lock(project.name, project.root, target, path, say)
    else:
        decided = poetry_lock.lock_from_poetry_lock(project.name, project.root, target, path, say)
    _check_requirements_file(project, target, decided, path.name)
    return constrain(decided, project.hashed, target)


def _resolved_lock(
    project: Project,
    target: Target,
    resolver: str,
    cache: Cache,
    say: Report,
    refresh: bool,
    image: resolvers.ImageRunner | None,
) -> Lock:
    """The lock a resolver makes of the project's requirements, cached by its inputs."""
    chosen = resolvers.find_resolver(resolver)
    if chosen.name == "pip-tools" and project.requirements and image is None:
        chosen = resolvers.pip_tools_for(target, chosen, cache, say)
    hashed = tuple(h.key for h in project.hashed)
    key = resolvers.lock_key(project.requirements, target, chosen.key, image is not None, hashed)
    if refresh:
        cache.remove("locks", key)
    entry = cache.dir("locks", key)
    if entry is not None:
        say(f"Lock reused from the cache ({len(project.requirements)} requirement(s) unchanged)")
        cached = Lock.from_text((entry / LOCK_FILE).read_text("utf-8"), str(entry / LOCK_FILE))
        return constrain(cached, project.hashed, target)
    if not project.requirements:
        text = resolvers.header(project.name, target, chosen, key)
        return Lock(text=text, pins=())

    say(
        f"Resolving {len(project.requirements)} requirement(s) for python{target.python} "
        f"{target.arch} (glibc {target.glibc[0]}.{target.glibc[1]}) with {chosen.name}"
        + (" in Lambda's build image" if image is not None else "")
    )
    if chosen.name == "pip-tools" and image is None:
        python = chosen.markers_python or resolvers.host_python()
        if (python, platform.machine()) != (target.python, target.machine):
            say(
                f"Note: pip-tools decides the environment markers of dependencies for Python "
                f"{python} on {platform.machine()}, not the target; use --resolver uv for "
                "target-exact markers."
            )
    if image is not None:  # sdists allowed: resolved, and later built, in Lambda's image
        body = resolvers.resolve(
            project.name, project.requirements, target, chosen, image=image
        )
    else:  # wheels, and pure-Python sdists built into wheels here
        body = sdist_build.resolve(
            project.name, project.requirements, target, chosen, cache=cache, report=say
        )
    text = resolvers.header(project.name, target, chosen, key) + body
    # The user's --hash pins narrow the lock before it is cached: a mismatch caches nothing.
    lock = constrain(Lock.from_text(text, f"lock of {project.name}"), project.hashed, target)

    def put(tmp: Path) -> None:
        (tmp / LOCK_FILE).write_text(lock.text, "utf-8")

    cache.put_dir("locks", key, put)
    say(f"Locked {len(lock.pins)} distribution(s)")
    return lock


def _check_requirements_file(project: Project, target: Target, lock: Lock, source: str) -> None:
    """A requirements.txt next to a lock file is often that lock exported, and fine; one
    that asks for a package the lock file does not pin would be silently left out."""
    path = project.root / "requirements.txt"
    if not path.is_file():
        return
    pinned = {canonicalize_name(p.name) for p in lock.pins}
    wanted = requirements_for_target(tuple(parse_requirements_file(path)), target)
    names = {Requirement(r).name for r in wanted}
    missing = sorted(n for n in names if canonicalize_name(n) not in pinned)
    if missing:
        msg = (
            f"{path} asks for {', '.join(missing)}, which {source} does not pin, and {source} "
            "decides this function's versions: add them to the project and lock again, or "
            "remove them from requirements.txt."
        )
        raise LockError(msg)


def check_requires_python(project: Project, target: Target) -> None:
    if not project.requires_python:
        return
    try:
        spec = SpecifierSet(project.requires_python)
    except InvalidSpecifier:
        msg = f"{project.name}: requires-python {project.requires_python!r} is not valid."
        raise ProjectError(msg) from None
    if not spec.contains(f"{target.python}.0", prereleases=True) and not spec.contains(
        target.python, prereleases=True
    ):
        msg = (
            f"{project.name} requires Python {project.requires_python}, but the target is "
            f"python{target.python}; pass a matching --python."
        )
        raise ProjectError(msg)


