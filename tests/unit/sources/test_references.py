"""Direct references (a URL, a path, a repository) are refused in every requirement source,
before anything resolves: resolving one would fetch it and run its build on this machine."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from bundler.core.errors import LockError, ProjectError
from bundler.core.target import Target
from bundler.sources import references, sdists
from bundler.sources.project import load_project, parse_requirements_file, wheel_requirements
from bundler.sources.resolver import Resolver, resolve

HANDLER = "def handler(event, context):\n    return 1\n"
HOW = "Publish"  # every refusal says how to ship such a package

REFERENCES = [
    ("pkg @ git+https://github.com/o/pkg.git@v1", "a git repository"),
    ("git+https://github.com/o/pkg.git#egg=pkg", "a git repository"),
    ("hg+https://hg.example.org/pkg#egg=pkg", "a hg repository"),
    ("svn+svn://svn.example.org/pkg/trunk", "a svn repository"),
    ("pkg @ https://example.org/pkg-1.0-py3-none-any.whl", "a URL"),
    ("https://example.org/pkg-1.0.tar.gz", "a URL"),
    ("pkg @ file:///srv/pkg", "a local path"),
    ("file:///srv/pkg", "a local path"),
    ("./vendor/pkg", "a local path"),
    ("/srv/pkg", "a local path"),
    ("vendor/pkg-1.0-py3-none-any.whl", "a local path"),
    ("pkg-1.0.tar.gz", "an archive file"),
    ("pkg-1.0-py3-none-any.whl", "an archive file"),
    ("pkg @ http://127.0.0.1:8000/pkg-1.0-py3-none-any.whl ; python_version >= '3'", "a URL"),
]


@pytest.mark.parametrize(("text", "kind"), REFERENCES)
def test_every_form_of_direct_reference_is_named(text: str, kind: str) -> None:
    assert references.direct_reference(text) == kind
    with pytest.raises(ProjectError) as err:
        references.check_requirement(text, "requirements.txt:3")
    message = str(err.value)
    assert message.startswith("requirements.txt:3: ") and f"direct reference to {kind}" in message
    assert "index" in message and "vendor" in message and HOW in message


@pytest.mark.parametrize(
    "text", ["requests", "requests>=2,<3", "pydantic[email]==2.7", "a.b-c_d; python_version<'3.11'"]
)
def test_releases_are_not_direct_references(text: str) -> None:
    assert references.direct_reference(text) is None
    assert references.check_requirement(text, "x") == str(Requirement(text))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "line",
    [
        "-e .",
        "-e git+https://github.com/o/pkg.git#egg=pkg",
        "--editable ./pkg",
        "--editable=./pkg",
        *[text for text, _ in REFERENCES],
    ],
)
def test_requirements_files_refuse_them_includes_too(tmp_path: Path, line: str) -> None:
    write(tmp_path / "app.py", HANDLER)
    write(tmp_path / "base.txt", f"idna\n{line}\n")
    write(tmp_path / "requirements.txt", "requests\n-r base.txt\n")
    with pytest.raises(ProjectError, match=r"base\.txt:2: .*direct reference .*Publish"):
        load_project(tmp_path)


def test_pyproject_dependencies_refuse_them(tmp_path: Path) -> None:
    write(tmp_path / "app.py", HANDLER)
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "fn"\ndependencies = ["pkg @ git+https://github.com/o/pkg.git"]\n',
    )
    with pytest.raises(ProjectError, match=r"pyproject\.toml: .*git repository.*Publish pkg"):
        load_project(tmp_path)


def test_poetry_2_project_dependencies_refuse_them(tmp_path: Path) -> None:
    write(tmp_path / "app.py", HANDLER)
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "fn"\ndependencies = ["pkg @ https://example.org/pkg.whl"]\n'
        "[tool.poetry]\npackage-mode = false\n",
    )
    with pytest.raises(ProjectError, match="direct reference to a URL"):
        load_project(tmp_path)


def test_a_pipfile_version_that_is_a_url_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "app.py", HANDLER)
    write(tmp_path / "Pipfile", '[packages]\npkg = "@ https://example.org/pkg-1.0.tar.gz"\n')
    with pytest.raises(ProjectError, match=r"Pipfile: \[packages\] pkg: .*direct reference"):
        load_project(tmp_path)


def test_pep723_scripts_refuse_them(tmp_path: Path) -> None:
    script = write(
        tmp_path / "fn.py",
        "# /// script\n# dependencies = ['pkg @ git+https://github.com/o/pkg.git']\n# ///\n"
        + HANDLER,
    )
    with pytest.raises(ProjectError, match=r"PEP 723 block\): .*git repository"):
        load_project(script)


def test_a_built_wheels_own_dependencies_are_checked(tmp_path: Path) -> None:
    wheel = tmp_path / "fn-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(
            "fn-1.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: fn\nVersion: 1.0\n"
            "Requires-Dist: idna\n"
            "Requires-Dist: extra-only @ https://x/y.whl ; extra == 'dev'\n"
            "Requires-Dist: pkg @ git+https://github.com/o/pkg.git\n",
        )
    with pytest.raises(ProjectError, match=r"metadata of fn-1\.0-py3-none-any\.whl.*git"):
        wheel_requirements(wheel)


def test_the_resolver_refuses_them_before_running(tmp_path: Path) -> None:
    # A resolver that cannot even start: the refusal comes first.
    resolver = Resolver("uv", [str(tmp_path / "no-such-uv")])
    with pytest.raises(LockError, match=r"Cannot lock fn: .*direct reference to a git"):
        resolve("fn", ("idna", "pkg @ git+https://github.com/o/pkg.git"), Target(), resolver)


def test_an_sdists_build_requirements_may_not_be_direct_references(tmp_path: Path) -> None:
    import io
    import tarfile

    sdist = tmp_path / "p-1.0.tar.gz"
    data = b'[build-system]\nrequires = ["setuptools @ git+https://github.com/o/st.git"]\n'
    with tarfile.open(sdist, "w:gz") as tf:
        info = tarfile.TarInfo("p-1.0/pyproject.toml")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    with pytest.raises(sdists.SdistError, match="direct reference to a git repository"):
        sdists.build_requirements(sdist)


def test_parse_keeps_releases(tmp_path: Path) -> None:
    reqs = write(tmp_path / "requirements.txt", "requests==2.32.3\nidna\n")
    assert parse_requirements_file(reqs) == ["requests==2.32.3", "idna"]
