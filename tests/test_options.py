"""Options validate at construction; the option schema is the one list of settings."""

from __future__ import annotations

import dataclasses
import inspect
import math
from pathlib import Path
from typing import Any

import pytest

import md2tex
from md2tex import optionschema, texengine
from md2tex.mathengine import ENGINES as MATH_ENGINES
from md2tex.mathengine import EQUATION_NUMBERS
from md2tex.options import POST_KEYS, Options, options_from_front_matter


@pytest.mark.parametrize(("field", "value", "allowed"), [
    ("engine", "foo", "pdflatex, xelatex, lualatex"),
    ("engine", None, "pdflatex, xelatex, lualatex"),
    ("timeout", 0, "a positive number"),
    ("timeout", -5.0, "a positive number"),
    ("timeout", math.inf, "a positive number"),
    ("timeout", math.nan, "a positive number"),
    ("timeout", "60", "a positive number"),
    ("timeout", True, "a positive number"),
    ("dollar_math", "maybe", "true, false or pandoc"),
    ("dollar_math", "yes", "true, false or pandoc"),
    ("math_engine", "mathjax", ", ".join(MATH_ENGINES)),
    ("equation_numbers", "some", ", ".join(EQUATION_NUMBERS)),
    ("safe", "false", "true or false"),
    ("strict", 1, "true or false"),
    ("format_cache", None, "true or false"),
    ("variables", [("papersize", "a4paper")], "a mapping"),
    ("resource_path", "assets", "a list of folders"),
    ("template", 3, "a file name"),
])
def test_a_bad_value_names_the_field_and_the_allowed_values(field: str, value: Any,
                                                            allowed: str) -> None:
    pattern = f"Options\\.{field}: .* expected (one of )?{allowed}"
    with pytest.raises(ValueError, match=pattern):
        Options(**{field: value})


def test_unknown_engine_fails_at_construction_not_at_build() -> None:
    with pytest.raises(ValueError) as exc:
        md2tex.Options(engine="foo")
    assert "not found" not in str(exc.value) and "lualatex" in str(exc.value)


@pytest.mark.parametrize("paper", ["a4", "A4paper", "a4paper, sideways"])
def test_an_unknown_paper_size_is_refused(paper: str) -> None:
    with pytest.raises(ValueError, match=r"Options\.variables: papersize .* a4paper"):
        Options(variables={"papersize": paper})


@pytest.mark.parametrize("paper", ["a4paper", "letterpaper", "a5paper,landscape", "b5j"])
def test_known_paper_sizes_pass(paper: str) -> None:
    assert Options(variables={"papersize": paper}).variables["papersize"] == paper


def test_raw_tex_paper_size_is_left_to_the_safe_check() -> None:
    """A value that is not a plain option list is trusted TeX, or refused under --safe by
    ``check_variables`` (with its diagnostic), not here."""
    raw = "a4paper]{article}\\relax\\documentclass[a4paper"
    assert Options(variables={"papersize": raw}).variables["papersize"] == raw


@pytest.mark.parametrize("kw", [
    {}, {"engine": "xelatex", "timeout": 5, "dollar_math": "pandoc"},
    {"dollar_math": False, "math_engine": "katex", "equation_numbers": "ams"},
    {"template": Path("t.tex.j2"), "resource_path": (Path("a"),), "timeout": 0.5},
])
def test_good_values_pass(kw: dict[str, Any]) -> None:
    opts = Options(**kw)
    assert all(getattr(opts, k) == v for k, v in kw.items())


def test_replace_and_merged_validate_too() -> None:
    with pytest.raises(ValueError, match=r"Options\.engine"):
        dataclasses.replace(Options(), engine="troff")
    with pytest.raises(ValueError, match=r"Options\.timeout"):
        Options().merged({"timeout": -1})


def test_every_options_field_is_in_the_schema_or_internal() -> None:
    names = {f.name for f in dataclasses.fields(Options)}
    declared = {s.name for s in optionschema.SETTINGS if s.section == "options"}
    assert names == declared | optionschema.INTERNAL_FIELDS
    assert not declared & optionschema.INTERNAL_FIELDS


def test_private_fields_are_internal_keyword_only_and_out_of_the_signature() -> None:
    from md2tex.options import PRIVATE_FIELDS

    assert PRIVATE_FIELDS <= optionschema.INTERNAL_FIELDS
    public = inspect.signature(Options).parameters
    by_name = {f.name: f for f in dataclasses.fields(Options)}
    for name in PRIVATE_FIELDS:
        assert name not in public and by_name[name].kw_only and not by_name[name].repr
    assert set(public) == set(by_name) - PRIVATE_FIELDS


def test_front_matter_whitelist_comes_from_the_schema() -> None:
    from_schema = {s.name for s in optionschema.SETTINGS if s.front_matter}
    assert from_schema == POST_KEYS == {"dollar_math", "equation_numbers", "engine",
                                        "math_engine"}


def test_front_matter_drops_what_it_may_not_set_or_cannot_use() -> None:
    meta = {"engine": "troff", "math_engine": "katex", "timeout": 1, "safe": False,
            "md2tex": {"dollar_math": "off", "equation_numbers": "every", "template": "x"}}
    assert options_from_front_matter(meta) == {"math_engine": "katex", "dollar_math": False}
    # what stays builds valid Options
    assert Options().with_front_matter(meta).dollar_math is False


def test_engine_choices_come_from_the_engine_table() -> None:
    assert optionschema.setting("engine").choices == texengine.NAMES
    assert Options().engine == texengine.DEFAULT


@pytest.mark.parametrize(("word", "value"), [
    ("yes", True), ("On", True), ("1", True), (True, True), (1, True),
    ("no", False), ("off", False), ("0", False), (False, False),
    ("maybe", None), ("pandoc", None), ([1], None), (None, None),
])
def test_one_boolean_reader(word: Any, value: bool | None) -> None:
    assert optionschema.parse_bool(word) is value
