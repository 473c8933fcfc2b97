"""Site configuration: md2tex.yaml / --config, Jekyll _config.yml, precedence."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_posts import write_posts

import md2tex
from md2tex.cli.commands import build_options
from md2tex.diagnostics import InputError
from md2tex.site.config import load_site_config, parse_config


def _cli(**given: object) -> dict[str, object]:
    kw: dict[str, object] = {"engine": None, "template": None, "variables": (),
                             "dollar_math": None, "timeout": None, "lenient": False,
                             "strict": False}
    kw.update(given)
    return kw


def test_every_key_parsed_and_paths_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "macros.tex").write_text("\\newcommand{\\R}{\\mathbb{R}}\n")
    config = tmp_path / "conf" / "site.yaml"
    config.parent.mkdir()
    (tmp_path / "conf" / "macros.tex").write_text("\\newcommand{\\E}{\\mathbb{E}}\n")
    options, batch, warnings = parse_config({
        "engine": "xelatex", "dollar_math": "false", "timeout": "30", "strict": True,
        "macros": "macros.tex", "resource_path": ["../assets", "img"],
        "variables": {"papersize": "letterpaper", "fontsize": 12},
        "site": {"url": "https://x.org"}, "equation_numbers": "all",
        "jobs": 3, "fail-fast": "yes", "to": "tex", "force": False,
        "mystery": 1, "engine2": "x"}, config)
    assert options["engine"] == "xelatex" and options["dollar_math"] is False
    assert options["timeout"] == 30.0 and options["strict"] is True
    assert "\\mathbb{E}" in options["macros"]
    assert options["resource_path"] == ((tmp_path / "assets").resolve(),
                                        (tmp_path / "conf" / "img").resolve())
    assert options["variables"] == {"papersize": "letterpaper", "fontsize": "12"}
    assert batch == {"jobs": 3, "fail_fast": True, "to": "tex", "force": False}
    assert len(warnings) == 2 and all("unknown key" in w for w in warnings)


def test_bad_values_are_warnings_not_failures(tmp_path: Path) -> None:
    options, _batch, warnings = parse_config(
        {"engine": "troff", "timeout": "soon", "variables": [1, 2], "to": "docx"},
        tmp_path / "c.yaml")
    assert options == {} and len(warnings) == 4


@pytest.mark.parametrize(("word", "value"), [("yes", True), ("off", False), ("1", True),
                                           (False, False)])
def test_booleans_read_like_dollar_math(tmp_path: Path, word: object, value: bool) -> None:
    options, batch, warnings = parse_config({"strict": word, "force": word}, tmp_path / "c")
    assert options == {"strict": value} and batch == {"force": value} and warnings == []


def test_an_unreadable_boolean_is_a_warning(tmp_path: Path) -> None:
    options, _batch, warnings = parse_config({"lenient": "maybe", "safe": [1]}, tmp_path / "c")
    assert options == {}
    assert [w.split(": ", 1)[1] for w in warnings] == [
        "lenient: expected true or false; ignored", "safe: expected true or false; ignored"]


def test_config_keys_are_the_schema_settings() -> None:
    from md2tex.optionschema import SETTINGS
    from md2tex.site.config import BATCH_KEYS, OPTION_KEYS, RULES

    assert set(RULES) == {s.name for s in SETTINGS if s.config}
    assert set(OPTION_KEYS) == {s.name for s in SETTINGS if s.section == "options"}
    assert set(BATCH_KEYS) == {s.name for s in SETTINGS if s.section == "batch" and s.config}
    assert {"to", "jobs", "fail_fast", "force", "report", "verbose", "quiet"} <= set(BATCH_KEYS)


def test_unreadable_config_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "md2tex.yaml").write_text("- a list\n- not a mapping\n")
    with pytest.raises(InputError):
        load_site_config(tmp_path)
    (tmp_path / "md2tex.yaml").write_text("macros: missing.tex\n")
    with pytest.raises(InputError, match=r"missing\.tex"):
        load_site_config(tmp_path)


def test_jekyll_config_supplies_site_values(tmp_path: Path) -> None:
    (tmp_path / "_posts").mkdir()
    (tmp_path / "_config.yml").write_text(
        "url: https://blog.example\nbaseurl: /b\ntitle: Blog\nauthor: Ann\n"
        "kramdown:\n  input: GFM\nplugins: [jekyll-feed]\n")
    (tmp_path / "md2tex.yaml").write_text("site:\n  title: Override\n")
    config = load_site_config(tmp_path)
    site = config.apply().site
    assert site["url"] == "https://blog.example" and site["baseurl"] == "/b"
    assert site["author"] == "Ann" and site["kramdown"] == {"input": "GFM"}
    assert site["title"] == "Override"  # md2tex config wins over _config.yml
    assert "plugins" not in site
    assert config.warnings == ()
    # a _posts folder given directly still finds its site's _config.yml
    assert load_site_config(tmp_path / "_posts").apply().site["url"] == "https://blog.example"


def test_precedence_defaults_config_front_matter_command_line(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        "dollar_math: false\nequation_numbers: none\nvariables: {a: config, b: config}\n")
    base = load_site_config(None, tmp_path / "c.yaml").apply()
    assert base.dollar_math is False and md2tex.Options().dollar_math is True
    # front matter beats the config
    post_on = "---\ntitle: t\ndollar_math: true\n---\n\nCost $x$ here.\n"
    post_plain = "---\ntitle: t\n---\n\nCost $x$ here.\n"
    assert "\\$x\\$" not in md2tex.convert(post_on, base).tex
    assert "\\$x\\$" in md2tex.convert(post_plain, base).tex
    # the command line beats front matter
    cli = build_options(**_cli(dollar_math=False, variables=("b=cli",)), base=base)
    assert "\\$x\\$" in md2tex.convert(post_on, cli).tex
    assert cli.variables == {"a": "config", "b": "cli"}
    assert cli.equation_numbers == "none"


def test_config_drives_a_batch(tmp_path: Path) -> None:
    (tmp_path / "defs.tex").write_text("\\newcommand{\\Prob}{\\mathbb{P}}\n")
    (tmp_path / "md2tex.yaml").write_text("macros: defs.tex\nvariables: {papersize: a5paper}\n")
    posts = write_posts(tmp_path, p="---\ntitle: t\n---\n\n$$P(A)$$\n")
    options = load_site_config(tmp_path).apply()
    report = md2tex.convert_many(posts, tmp_path / "out", options, to="tex")
    assert report.results[0].status in ("ok", "warning")
    tex = (tmp_path / "out" / "p.tex").read_text()
    assert "{\\Prob}" in tex and "\\mathbb{P}" in tex and "a5paper" in tex


def test_pandoc_settings_from_a_config(tmp_path: Path) -> None:
    (tmp_path / "md2tex.yaml").write_text(
        "toc: true\ntoc-depth: 2\nnumber_sections: yes\nhighlight_style: monokai\n"
        "highlight: false\nmetadata: {author: Config Author}\n")
    options = load_site_config(tmp_path).apply()
    assert options.toc and options.toc_depth == 2 and options.number_sections
    assert options.highlight_style == "monokai" and options.highlight is False
    doc = md2tex.convert("---\ntitle: T\nauthor: Post Author\n---\n\n# A\n\n```\nx\n```\n",
                         options)
    assert "\\tableofcontents" in doc.tex and "\\setcounter{tocdepth}{2}" in doc.tex
    assert "\\author{Config Author}" in doc.tex
    assert "\\def\\PY#1#2{#2}" in doc.tex


def test_a_bad_style_in_a_config_is_a_warning(tmp_path: Path) -> None:
    options, _batch, warnings = parse_config({"highlight_style": "neon", "toc_depth": 0},
                                             tmp_path / "c.yaml")
    assert options == {}
    assert [w.split(": ", 2)[1] for w in warnings] == ["highlight_style", "toc_depth"]
    assert "Pygments style" in warnings[0]
