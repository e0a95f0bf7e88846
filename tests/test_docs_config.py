"""docs/config.md documents every key of the schema, and only keys of the schema, with the
schema's type, range and default."""

import re

import pytest
import yaml

from conftest import ROOT
from qms import settings

DOC = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
PROSE = re.sub(r"```.*?```", "", DOC, flags=re.S)  # without fenced code blocks
PATHS = list(settings.key_paths())
TOP_LEVEL = set(settings.SCHEMA.fields)
TICKED = re.compile(r"`([^`]+)`")
# A key path as key_paths() writes it: names joined by dots, lists marked with [].
KEY_PATH = re.compile(r"[a-z_]+(\[\])?(\.[a-z_]+(\[\])?)*")


def table_rows():
    """The cells of every table body row (header and separator rows left out)."""
    lines = PROSE.splitlines()
    separator = re.compile(r"\|(\s*:?-+:?\s*\|)+")
    rows = []
    for i, line in enumerate(lines):
        if not line.startswith("|") or separator.fullmatch(line):
            continue
        if i + 1 < len(lines) and separator.fullmatch(lines[i + 1]):
            continue  # a header row
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def key_rows():
    """{key path: (type cell, default cell)} for the rows of the key tables."""
    out = {}
    for cells in table_rows():
        if len(cells) == 4 and (m := TICKED.fullmatch(cells[0])):
            out[m.group(1)] = (cells[1], cells[2])
    return out


def schema_keys(key=settings.SCHEMA, prefix=""):
    for name, sub in key.fields.items():
        path = f"{prefix}.{name}" if prefix else name
        yield path, sub
        if sub.kind == "section":
            yield from schema_keys(sub, path)
        elif sub.kind == "list" and sub.item.kind == "section":
            yield from schema_keys(sub.item, path + "[]")


def test_every_key_of_the_schema_appears_in_the_config_reference_in_backticks():
    ticked = set(TICKED.findall(PROSE))
    assert [p for p in PATHS if p not in ticked] == []


def test_every_key_path_in_the_tables_of_the_config_reference_exists_in_the_schema():
    mentioned = set()
    for cells in table_rows():
        for token in TICKED.findall(" | ".join(cells)):
            first = re.split(r"[.\[]", token)[0]
            if first in TOP_LEVEL and KEY_PATH.fullmatch(token):
                mentioned.add(token)
    assert mentioned, "no key path found in the tables"
    assert sorted(mentioned - set(PATHS)) == []


def test_every_key_below_the_top_level_has_its_own_table_row():
    rows = key_rows()
    assert [p for p in PATHS if p not in TOP_LEVEL and p not in rows] == []


TYPE_WORDS = {"str": "string", "int": "integer", "float": "number", "bool": "boolean",
              "time": "time", "text": "text", "choice": "one of", "list": "list",
              "section": "section"}


@pytest.mark.parametrize("path, key", [pytest.param(p, k, id=p) for p, k in schema_keys()
                                       if p not in TOP_LEVEL or k.kind == "list"])
def test_the_type_and_default_columns_match_the_schema(path, key):
    rows = key_rows()
    assert path in rows, f"{path} has no table row"
    type_cell, default_cell = rows[path]
    assert type_cell.startswith(TYPE_WORDS[key.kind]), type_cell
    if key.minimum is not None:
        assert f"≥ {key.minimum:g}" in type_cell
    choices = key.choices or (key.item.choices if key.item else ())
    for choice in choices:
        assert f"`{choice}`" in type_cell
    if key.default is settings.REQUIRED:
        assert default_cell == "required"
    else:
        literal = TICKED.fullmatch(default_cell)
        assert literal, f"{path}: default {default_cell!r} is not one `literal`"
        assert yaml.safe_load(literal.group(1)) == key.default


def test_the_ward_level_example_in_the_config_reference_is_a_valid_config():
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", DOC, re.S)]
    examples = [b for b in blocks if isinstance(b, dict) and "center" in b]
    assert len(examples) == 1
    cfg = settings.validate(examples[0])
    assert [s["prefix"] for d in cfg["departments"] for s in d["services"]] == \
        ["H", "C", "D", "X", "K", "L"]
