"""AWS facts (aws.toml) and the checks of answers against them: the region, and the AWS names the
project builds from the slug."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

_AWS = tomllib.loads((Path(__file__).parent.parent / "aws.toml").read_text(encoding="utf-8"))
COMMERCIAL_REGIONS = frozenset(_AWS["commercial_regions"])
# The images AWS publishes that the pipeline runs, each with the regions where the pinned SDK
# has it.
IMAGES = tuple(_AWS["images"])
# The regions the pipeline can run in: those of every image.
REGIONS = frozenset(COMMERCIAL_REGIONS).intersection(*(image["regions"] for image in IMAGES))
RESERVED_BUCKET_PREFIXES = tuple(_AWS["reserved_bucket_prefixes"])
RESERVED_BUCKET_SUFFIXES = tuple(_AWS["reserved_bucket_suffixes"])
# (resource, name pattern, AWS's limit) of every AWS name built from the slug.
AWS_NAMES = tuple((name["resource"], name["pattern"], name["limit"]) for name in _AWS["names"])
# The default slug is cut to fit in every region (the slugify filter's max_length).
DEFAULT_SLUG_MAX = min(
    limit - len(name.format(slug="", account="0" * 12, region=max(REGIONS, key=len)))
    for _, name, limit in AWS_NAMES
)


def known_region(region: str, context: Mapping) -> str | None:
    """A commercial region where the pinned SDK has every image the pipeline runs."""
    if region not in COMMERCIAL_REGIONS:
        return "is not an AWS commercial region code"
    for image in IMAGES:
        if region not in image["regions"]:
            return (
                f"has no SageMaker {image['framework']} image (in the pinned SDK) for the pipeline"
            )
    return None


def fits_aws_names(slug: str, context: Mapping) -> str | None:
    region = context.get("aws_region")
    if region not in COMMERCIAL_REGIONS:
        region = max(REGIONS, key=len)
    for resource, pattern, limit in AWS_NAMES:
        name = pattern.format(slug=slug, account="0" * 12, region=region)
        shape = pattern.format(slug="<slug>", account="<account>", region=region)
        if len(name) > limit:
            return f"makes the {resource} name {shape} {len(name)} characters, over AWS's {limit}"
        if resource.startswith("S3 bucket"):
            reserved = [p for p in RESERVED_BUCKET_PREFIXES if name.startswith(p)]
            reserved += [s for s in RESERVED_BUCKET_SUFFIXES if name.endswith(s)]
            if reserved:
                return f"makes the S3 bucket name {shape} take {reserved[0]!r}, which S3 reserves"
    return None
