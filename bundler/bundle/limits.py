"""Lambda's size and count limits, checked before anything is written or published.

https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: 50 MB zipped
for a directly uploaded deployment package, 250 MB unzipped for the function and all its
layers together (the API's message says "262144000 bytes"), 5 layers per function.

The 50 MB is the limit of a direct upload only: Lambda takes a bigger zip from S3, so
over it a build warns and names the S3 route; the other two are hard errors.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from bundler.core.errors import LimitError

MAX_ZIPPED = 52_428_800
MAX_UNZIPPED = 262_144_000
MAX_LAYERS = 5


@dataclasses.dataclass(frozen=True)
class Check:
    """One limit against one measured value. Over a limit that is not `hard`, Lambda
    still takes the zip, through S3 (the direct-upload size)."""

    name: str
    value: int
    limit: int
    hard: bool = True

    @property
    def ok(self) -> bool:
        return self.value <= self.limit

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "value": self.value,
            "limit": self.limit,
            "ok": self.ok,
            "hard": self.hard,
        }


def within(found: Iterable[Check]) -> bool:
    """Whether Lambda takes the bundle: every hard limit is kept."""
    return all(c.ok for c in found if c.hard)


def checks(
    function_unzipped: int,
    layers_unzipped: Sequence[int],
    function_zipped: int | None = None,
) -> list[Check]:
    """Every limit that applies; the zipped size only once it is known."""
    out = [
        Check(
            "unzipped function + layers (bytes)",
            function_unzipped + sum(layers_unzipped),
            MAX_UNZIPPED,
        ),
        Check("layers", len(layers_unzipped), MAX_LAYERS),
    ]
    if function_zipped is not None:
        out.append(
            Check("zipped function.zip (bytes)", function_zipped, MAX_ZIPPED, hard=False)
        )
    return out


def through_s3(zips: Iterable[tuple[str, int]]) -> list[str]:
    """A warning for each (file, zipped size) too big for a direct upload, naming the way
    through S3 (`publish --s3-bucket`, or the AWS CLI's S3 options)."""
    return [
        f"{file} is {size:,} bytes zipped, over the {MAX_ZIPPED:,} of a direct upload: "
        "upload it through S3 (`lambundle publish --s3-bucket BUCKET`, or `aws s3 cp` and "
        "then the AWS CLI with `--s3-bucket`/`S3Bucket=`)."
        for file, size in zips
        if size > MAX_ZIPPED
    ]


def largest(
    distributions: Iterable[tuple[str, str, int]], n: int = 5
) -> list[tuple[str, str, int]]:
    """The `n` biggest (name, version, size) distributions, biggest first."""
    return sorted(distributions, key=lambda d: (-d[2], d[0]))[:n]


def enforce(found: Sequence[Check], distributions: Iterable[tuple[str, str, int]]) -> None:
    """Raise a LimitError naming every exceeded hard limit and the largest distributions."""
    failed = [c for c in found if c.hard and not c.ok]
    if not failed:
        return
    lines = [f"{c.name}: {c.value:,} exceeds Lambda's limit of {c.limit:,}" for c in failed]
    biggest = largest(distributions)
    if biggest:
        lines.append(
            "largest distributions: "
            + ", ".join(
                f"{name} {version} ({size / 1e6:.1f} MB)" for name, version, size in biggest
            )
        )
    lines.append(
        "Drop or replace the largest dependencies, try --slim, or ship a container image "
        "instead of a zip."
    )
    raise LimitError("The bundle exceeds Lambda's limits:\n  " + "\n  ".join(lines))
