"""Variant names: the grammar, the defaults, and what other Pythons add."""

import pytest

from bundler.core.errors import UsageError
from bundler.measure.variants import BASELINE, parse_variant, plan_variants


@pytest.mark.parametrize(
    ("spec", "name", "strategy", "python", "bytecode", "slim"),
    [
        ("fat-layer", "fat-layer", "fat-layer", "3.12", True, False),
        ("fat-layer/no-pyc", "fat-layer/no-pyc", "fat-layer", "3.12", False, False),
        ("vendored/slim/no-pyc", "vendored/no-pyc/slim", "vendored", "3.12", False, True),
        ("pinned@3.13", "pinned@3.13", "pinned", "3.13", True, False),
        ("pinned@3.12", "pinned", "pinned", "3.12", True, False),
        ("baseline@3.10", "baseline@3.10", "baseline", "3.10", False, False),
    ],
)
def test_variant_names(spec, name, strategy, python, bytecode, slim):
    v = parse_variant(spec, "3.12")
    assert (v.name, v.strategy, v.python, v.slim) == (name, strategy, python, slim)
    if strategy != BASELINE:
        assert v.bytecode is bytecode


@pytest.mark.parametrize("spec", ["fat", "fat-layer/fast", "baseline/slim", "pinned@3.9", ""])
def test_bad_variants_are_refused_with_the_grammar(spec):
    with pytest.raises(UsageError, match=r"STRATEGY|baseline|Lambda runtime"):
        parse_variant(spec, "3.12")


def test_default_plan_is_small_and_other_pythons_add_every_strategy():
    assert [v.name for v in plan_variants()] == ["fat-layer", "vendored", "pinned", "baseline"]
    names = [v.name for v in plan_variants(["fat-layer"], ["fat-layer/no-pyc", "fat-layer"],
                                           pythons=["3.12", "3.13"])]  # fmt: skip
    assert names == ["fat-layer", "fat-layer/no-pyc", "fat-layer@3.13", "baseline@3.13",
                     "baseline"]  # fmt: skip


def test_every_python_a_variant_runs_on_gets_its_own_baseline():
    names = [v.name for v in plan_variants(["pinned"], ["vendored@3.11", "fat-layer@3.13"])]
    assert names == ["pinned", "vendored@3.11", "fat-layer@3.13", "baseline@3.11",
                     "baseline@3.13", "baseline"]  # fmt: skip
    assert [v.name for v in plan_variants(["pinned"], ["vendored@3.11"], baseline=False)] == [
        "pinned", "vendored@3.11"]
