import pytest

from bundler.core.errors import UsageError
from bundler.core.target import Target


def test_default_runtime_is_the_managed_one_for_the_version():
    assert Target("3.11").runtime == "python3.11"


@pytest.mark.parametrize(
    ("target", "glibc"),
    [
        (Target("3.10"), (2, 26)),
        (Target("3.11"), (2, 26)),
        (Target("3.12"), (2, 34)),
        (Target("3.13", "arm64"), (2, 34)),
        (Target("3.11", runtime="provided.al2023"), (2, 34)),
        (Target("3.12", runtime="provided.al2"), (2, 26)),
    ],
)
def test_glibc_ceiling_follows_the_amazon_linux_of_the_runtime(target, glibc):
    assert target.glibc == glibc


def test_arm64_uses_aarch64_wheel_tags():
    assert Target("3.12", "arm64").machine == "aarch64"
    assert Target("3.12").site_packages == "python/lib/python3.12/site-packages"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"python": "3.9"}, "Unknown Python version '3.9'"),
        ({"arch": "ppc64"}, "Unknown architecture 'ppc64'"),
        ({"runtime": "nodejs20.x"}, "Unknown runtime 'nodejs20.x'"),
        ({"python": "3.12", "runtime": "python3.11"}, "pass --python 3.11"),
    ],
)
def test_bad_targets_are_refused_with_the_fix(kwargs, message):
    with pytest.raises(UsageError, match=message):
        Target(**kwargs)
