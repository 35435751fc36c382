"""The user's own `--hash` pins constrain the lock, as pip's hash-checking mode would."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundler.core.cache import Cache
from bundler.core.errors import LockError, ProjectError
from bundler.core.target import Target
from bundler.sources import resolver as resolver_module
from bundler.sources.lock import HashedRequirement, Lock, constrain, with_hashes
from bundler.sources.locking import lock_project
from bundler.sources.project import load_project, read_requirements_file

A, B, C = ("sha256:" + c * 64 for c in "abc")
LOCK = f"""\
# Hash-pinned lock of fn
certifi==2024.8.30 \\
    --hash={A} \\
    --hash={B}
    # via requests
requests==2.32.3 --hash={C}
    # via -r requirements.in
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_hashes_are_read_with_the_requirement_and_its_place(tmp_path: Path) -> None:
    write(tmp_path / "base.txt", f"certifi==2024.8.30 --hash {B.upper().replace('SHA', 'sha')}\n")
    reqs = write(
        tmp_path / "requirements.txt",
        f"requests==2.32.3 \\\n    --hash={C} \\\n    --hash={A}\nidna\n-r base.txt\n",
    )
    read = read_requirements_file(reqs)
    assert [r for r, _ in read] == ["requests==2.32.3", "idna", "certifi==2024.8.30"]
    hashed = [h for _, h in read if h is not None]
    assert hashed == [
        HashedRequirement("requests==2.32.3", "2.32.3", (A, C), f"{reqs}:1"),
        HashedRequirement("certifi==2024.8.30", "2024.8.30", (B,), f"{tmp_path / 'base.txt'}:1"),
    ]


def test_load_project_keeps_them(tmp_path: Path) -> None:
    write(tmp_path / "app.py", "def handler(event, context):\n    return 1\n")
    write(tmp_path / "requirements.txt", f"requests==2.32.3 --hash={C}\n")
    project = load_project(tmp_path)
    assert project.requirements == ("requests==2.32.3",)
    assert [h.hashes for h in project.hashed] == [(C,)]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (f"requests>=2 --hash={A}", "requests has --hash but is not pinned to one version"),
        (f"requests==2.* --hash={A}", "not pinned to one version"),
        ("requests==2.32.3 --hash=sha512:abcd", "is not a sha256 hash"),
        ("requests==2.32.3 --hash=sha256:abcd", "is not a sha256 hash"),
    ],
)
def test_what_pip_would_refuse_is_refused(tmp_path: Path, line: str, message: str) -> None:
    reqs = write(tmp_path / "requirements.txt", f"idna\n{line}\n")
    with pytest.raises(ProjectError, match=rf"requirements\.txt:2: .*{message}"):
        read_requirements_file(reqs)


def hashed(requirement: str, *hashes: str, where: str = "requirements.txt:3") -> HashedRequirement:
    version = requirement.split("==")[1].split(";")[0].strip()
    return HashedRequirement(requirement, version, tuple(sorted(hashes)), where)


def test_a_pin_is_narrowed_to_the_users_hashes_comments_kept() -> None:
    lock = Lock.from_text(LOCK)
    narrowed = constrain(lock, [hashed("certifi==2024.8.30", B, "sha256:" + "f" * 64)], Target())
    assert [p.hashes for p in narrowed.pins] == [(B,), (C,)]
    assert "    # via requests\n" in narrowed.text and "# Hash-pinned lock of fn\n" in narrowed.text
    assert A not in narrowed.text
    assert constrain(narrowed, [hashed("certifi==2024.8.30", B)], Target()) == narrowed


def test_a_wrong_hash_names_the_file_and_the_package() -> None:
    with pytest.raises(LockError) as err:
        constrain(Lock.from_text(LOCK), [hashed("requests==2.32.3", A)], Target())
    message = str(err.value)
    assert message.startswith("requirements.txt:3: no file of requests==2.32.3 has a hash")
    assert "pip would refuse" in message


def test_another_version_or_no_pin_is_an_error_too() -> None:
    with pytest.raises(LockError, match=r"requirements\.txt:3: requests is pinned with --hash "
                       r"to 2\.0\.0, but the lock pins 2\.32\.3"):  # fmt: skip
        constrain(Lock.from_text(LOCK), [hashed("requests==2.0.0", C)], Target())
    with pytest.raises(LockError, match="idna is pinned with --hash, but the lock has no pin"):
        constrain(Lock.from_text(LOCK), [hashed("idna==3.7", C)], Target())


def test_a_requirement_left_out_of_the_target_constrains_nothing() -> None:
    lock = Lock.from_text(LOCK)
    only_310 = hashed('idna==3.7; python_version < "3.11"', A)
    assert constrain(lock, [only_310], Target("3.12")) is lock


def test_with_hashes_rewrites_only_the_named_pins() -> None:
    text = with_hashes(LOCK, {"requests": (A, B)})
    assert f"requests==2.32.3 \\\n    --hash={A} \\\n    --hash={B}\n    # via -r" in text
    assert text.startswith(LOCK.split("requests")[0])


@pytest.fixture
def resolved(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """A resolver that always resolves to LOCK's pins; the calls it got."""
    calls: list[tuple[str, ...]] = []

    def resolve(name: str, requirements: tuple[str, ...], *args: object, **kw: object) -> str:
        calls.append(requirements)
        return LOCK.split("\n", 1)[1]

    fake = resolver_module.Resolver("uv", ["uv"])
    monkeypatch.setattr(resolver_module, "find_resolver", lambda name="auto": fake)
    monkeypatch.setattr(resolver_module.Resolver, "version", lambda self: "0")
    monkeypatch.setattr(resolver_module, "resolve", resolve)
    return calls


def test_the_lock_of_a_project_honours_them(
    tmp_path: Path, resolved: list[tuple[str, ...]]
) -> None:
    src = tmp_path / "fn"
    write(src / "app.py", "def handler(event, context):\n    return 1\n")
    write(src / "requirements.txt", f"requests==2.32.3\ncertifi==2024.8.30 --hash={B}\n")
    cache = Cache(tmp_path / "cache")
    lock = lock_project(load_project(src), Target(), cache=cache)
    assert {p.name: p.hashes for p in lock.pins} == {"certifi": (B,), "requests": (C,)}
    assert lock_project(load_project(src), Target(), cache=cache) == lock  # from the cache
    assert len(resolved) == 1

    # Another hash is another lock: resolved again, and refused, and nothing cached.
    write(src / "requirements.txt", f"requests==2.32.3\ncertifi==2024.8.30 --hash={C}\n")
    with pytest.raises(LockError, match=r"requirements\.txt:2: no file of certifi==2024\.8\.30"):
        lock_project(load_project(src), Target(), cache=cache)
    assert len(resolved) == 2
    assert len(list((tmp_path / "cache" / "locks").iterdir())) == 1
