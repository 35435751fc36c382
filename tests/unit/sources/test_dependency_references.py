"""A lock whose dependencies brought in a direct reference is refused, naming who asked."""

from __future__ import annotations

import pytest

from bundler.core.errors import LockError
from bundler.core.target import Target
from bundler.sources import resolver as resolvers

PIP_COMPILE = """\
childsrc @ https://example.invalid/childsrc-1.0.tar.gz \\
    --hash=sha256:042afb3f44fba82b98fd57e0e83db6a547f6a6d930508486f5342c6407d58a8f
    # via
    #   parent2
    #   other
other==2.1 \\
    --hash=sha256:1111111111111111111111111111111111111111111111111111111111111111
    # via -r requirements.in
parent2==1.0 \\
    --hash=sha256:73531e652a9a79d4df9f0e3bf928cd2ca6f8c9ee05b3ec3010ce52277a60a2ad
    # via -r requirements.in
"""


def test_lock_entries_read_each_requirement_and_who_asked_for_it() -> None:
    entries = resolvers.lock_entries(PIP_COMPILE)
    assert entries == [
        ("childsrc @ https://example.invalid/childsrc-1.0.tar.gz", ["parent2", "other"]),
        ("other==2.1", ["-r requirements.in"]),
        ("parent2==1.0", ["-r requirements.in"]),
    ]


@pytest.mark.parametrize("name", ["pip-tools", "uv"])
def test_a_direct_reference_in_a_resolved_lock_names_every_dependency_that_asked(
    name: str,
) -> None:
    with pytest.raises(LockError) as err:
        resolvers._refuse_direct_references(PIP_COMPILE, "fn", resolvers.Resolver(name, [name]))
    message = str(err.value)
    assert message.startswith(
        "Cannot lock fn: parent2 1.0 and other 2.1 require childsrc by a direct reference "
        "to a URL (childsrc @ https://example.invalid/childsrc-1.0.tar.gz)"
    )
    assert "Pin a version of parent2" in message
    assert ("pip-compile fetched it" in message) == (name == "pip-tools")


def test_a_lock_of_releases_only_passes() -> None:
    body = PIP_COMPILE.split("other==2.1", 1)[1]
    resolvers._refuse_direct_references("other==2.1" + body, "fn", resolvers.Resolver("uv", []))


UV_REFUSAL = """\
error: Failed to resolve dependencies for package `parentpkg==1.0`
  cause: Package `childpkg` was included as a URL dependency. URL dependencies must be
expressed as direct requirements or constraints. Consider adding `childpkg @
git+https://example.invalid/child.git` to your dependencies or constraints file.
"""


def test_uvs_own_refusal_is_said_the_lambundle_way() -> None:
    error = resolvers._resolve_error(
        UV_REFUSAL, "fn", Target("3.12"), resolvers.Resolver("uv", ["uv"])
    )
    message = str(error)
    assert message.startswith(
        "Cannot lock fn: parentpkg 1.0 requires childpkg by a direct reference to a git "
        "repository (childpkg @ git+https://example.invalid/child.git)"
    )
    assert "uv refused it before fetching anything" in message
    assert "Consider adding" not in message  # uv's advice is what lambundle refuses
