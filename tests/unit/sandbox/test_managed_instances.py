"""AWS_LAMBDA_MAX_CONCURRENCY, read from the function's variables."""

import pytest

from bundler.core.errors import UsageError
from bundler.sandbox.managed_instances import max_concurrency


def test_unset_is_not_managed_instances():
    assert max_concurrency({"OTHER": "2"}) == 0


def test_a_whole_number_is_the_worker_count():
    assert max_concurrency({"AWS_LAMBDA_MAX_CONCURRENCY": "4"}) == 4


@pytest.mark.parametrize("raw", ["0", "-1", "two", "1.5", ""])
def test_anything_else_is_a_usage_error(raw: str):
    with pytest.raises(UsageError, match="must be a whole number >= 1"):
        max_concurrency({"AWS_LAMBDA_MAX_CONCURRENCY": raw})
