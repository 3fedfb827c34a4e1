"""Fast tier: the generated README's schema reference names every key and type that the schema
parser accepts, and nothing it would refuse."""

from __future__ import annotations

import ast
import re

from conftest import BakedProject


def parser_constants(baked: BakedProject) -> dict[str, set[str]]:
    """SCHEMA_KEYS, COLUMN_KEYS and COLUMN_TYPES as the data contract's schema parser defines
    them."""
    source = (baked.path / "src" / baked.package / "contract" / "schema.py").read_text()
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in ("SCHEMA_KEYS", "COLUMN_KEYS", "COLUMN_TYPES"):
                found[name] = {
                    n.value
                    for n in ast.walk(node.value)
                    if isinstance(n, ast.Constant) and isinstance(n.value, str)
                }
    return found


def reference_tables(baked: BakedProject) -> tuple[set[str], set[str]]:
    """The keys in the first column of the two tables of the README's schema reference."""
    readme = (baked.path / "README.md").read_text(encoding="utf-8")
    reference = readme.split("### Schema reference", 1)[1].split("\n## ", 1)[0]
    tables = re.findall(r"((?:^\|.*\|\n)+)", reference, re.MULTILINE)
    schema_table, column_table = tables[:2]

    def keys(table: str) -> set[str]:
        rows = table.strip().splitlines()[2:]
        return {key for row in rows for key in re.findall(r"`(\w+)`", row.split("|")[1])}

    return keys(schema_table), keys(column_table)


def test_schema_reference_matches_the_parser(baked: BakedProject) -> None:
    constants = parser_constants(baked)
    schema_keys, column_keys = reference_tables(baked)
    assert schema_keys == constants["SCHEMA_KEYS"]
    assert column_keys == constants["COLUMN_KEYS"]
    readme = (baked.path / "README.md").read_text(encoding="utf-8")
    for column_type in constants["COLUMN_TYPES"]:
        assert f"`{column_type}`" in readme.split("### Schema reference", 1)[1]
