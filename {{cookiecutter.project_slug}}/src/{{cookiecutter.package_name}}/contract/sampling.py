"""Which rows go to train, validation and test: a rule of the row's number and the seed, so that
every engine that computes it (pandas in steps/preprocess.py, Spark where the project has its
Spark job) splits the same data the same way, wherever the rows sit.

Each row gets a key, a 64-bit mix (splitmix64's finalizer) of the seed and its number in the
data (from 1, counting on across files in name order, as messages number rows): a shuffle that
needs no shared random state. Within each stratum (each class of a classification target; all
rows for regression) the rows in key order go first to test, then to validation, the rest to
train, in the counts `split_counts` gives: ceil(fraction x rows) of the whole data for test and
for validation, shared out over the classes by largest remainder, so that every split has the
class balance of the whole data to within a row. Standard library only: the Spark job's driver
imports it without pandas.
"""

from __future__ import annotations

import argparse
import math

# The splits, in the order of their index in the engines' assignment (0: train).
SPLITS = ("train", "validation", "test")
MASK = (1 << 64) - 1
# splitmix64's constants (Steele, Lea and Flood, 2014).
GAMMA = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
# Rows number below 2**40 and the seed sits above them, so that no two (seed, row) pairs meet.
SEED_SHIFT = 40


def seed_base(seed: int) -> int:
    """The seed's part of every key's input (a 64-bit word; add the row number to it)."""
    return (seed << SEED_SHIFT) & MASK


def row_key(seed: int, row: int) -> int:
    """A row's key: the splitmix64 finalizer of seed_base + row, shifted to 63 bits so that a
    signed 64-bit integer (Spark's long) orders it as an unsigned one does."""
    z = (seed_base(seed) + row + GAMMA) & MASK
    z = ((z ^ (z >> 30)) * MIX1) & MASK
    z = ((z ^ (z >> 27)) * MIX2) & MASK
    return (z ^ (z >> 31)) >> 1


def signed(value: int) -> int:
    """A 64-bit word as the signed integer a long literal takes."""
    return value - (1 << 64) if value >= 1 << 63 else value


def split_counts(
    strata: dict[float, int], validation_fraction: float, test_fraction: float
) -> dict[float, tuple[int, int]]:
    """(test rows, validation rows) of each stratum (stratum -> its number of rows)."""
    if not (0 < validation_fraction < 1 and 0 < test_fraction < 1) or (
        validation_fraction + test_fraction >= 1
    ):
        raise ValueError("validation and test fractions must be in (0, 1) and sum to less than 1")
    total = sum(strata.values())
    test = _share(strata, math.ceil(test_fraction * total))
    validation = _share(strata, math.ceil(validation_fraction * total))
    return {name: (test[name], validation[name]) for name in strata}


def _share(strata: dict[float, int], count: int) -> dict[float, int]:
    """`count` rows shared out over the strata in proportion to their sizes (largest remainder;
    ties to the larger stratum, then the smaller label)."""
    total = sum(strata.values())
    exact = {name: count * size / total for name, size in strata.items()}
    shares = {name: math.floor(value) for name, value in exact.items()}
    order = sorted(strata, key=lambda name: (shares[name] - exact[name], -strata[name], name))
    for name in order[: count - sum(shares.values())]:
        shares[name] += 1
    return shares


def refusal(
    rows: int, strata: dict[float, int], counts: dict[float, tuple[int, int]]
) -> str | None:
    """Why the rows cannot be split (a split, or a class in a split, would be empty), or None."""
    for name, size in sorted(strata.items()):
        test, validation = counts[name]
        parts = {"train": size - test - validation, "validation": validation, "test": test}
        empty = [part for part, count in parts.items() if count < 1]
        if empty:
            what = f"class {name:g} has" if len(strata) > 1 else "they leave"
            return (
                f"cannot split {rows} rows into train, validation and test: {what} {size} rows, "
                f"too few to put one in {' and '.join(empty)}"
            )
    return None


def add_split_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the split and of the data it needs, for every step that splits: preprocess,
    the Feature Store's snapshot and the Spark job."""
    parser.add_argument("--validation-fraction", "--validation_fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", "--test_fraction", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--min-rows",
        "--min_rows",
        type=int,
        help="refuse data with fewer rows (local.py and the pipeline pass MIN_ROWS from config.py)",
    )
    parser.add_argument(
        "--min-class-count",
        "--min_class_count",
        type=int,
        help="classification: refuse data with fewer rows of a class (MIN_CLASS_COUNT, config.py)",
    )
