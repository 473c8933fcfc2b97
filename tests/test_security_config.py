"""Issue 10, items 1-3: a config found in the input folder is input, not command line.

Each attack is tried the way an attacker who controls a site would: a ``md2tex.yaml`` (and
the files beside it) in the folder given to ``md2tex batch``, run through the real CLI, with
and without ``--safe``. The same file given as ``--config`` is trusted like the command line;
templates render in Jinja's sandbox whoever names them. SECURITY.md states the bounds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from batch_posts import GOOD
from click.testing import CliRunner, Result

import md2tex
from md2tex.cli.commands import main
from md2tex.site.config import MAX_FOUND_TIMEOUT, load_site_config
from md2tex.tex import pdfcheck

SECRET = "SECRETKEY5521"
HAVE_TEX = shutil.which("pdflatex") is not None and shutil.which("pdfinfo") is not None
needs_tex = pytest.mark.skipif(not HAVE_TEX, reason="needs pdflatex and poppler-utils")
SAFE = pytest.mark.parametrize("safe", [False, True], ids=["default", "safe"])


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    """``tmp_path/site`` with one post; ``tmp_path/outside/secret.txt`` beside it (the
    attacker's target, like ``~/.ssh/id_rsa``)."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "post.md").write_text(GOOD, encoding="utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"{SECRET}\n", encoding="utf-8")
    return root


def _secret(site: Path) -> Path:
    return site.parent / "outside" / "secret.txt"


def _batch(site: Path, *args: str, safe: bool = False, config: Path | None = None) -> Result:
    argv = ["batch", str(site), "-o", str(site.parent / "out"), *args]
    argv += ["--safe"] if safe else []
    argv += ["--config", str(config)] if config is not None else []
    return CliRunner().invoke(main, argv)


def _outputs(site: Path) -> dict[str, bytes]:
    out = site.parent / "out"
    return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()
            and not p.name.startswith(".md2tex")} if out.is_dir() else {}


def _no_secret_anywhere(site: Path) -> None:
    for name, data in _outputs(site).items():
        assert SECRET.encode() not in data, f"the secret reached {name}"


def _refused(result: Result, key: str) -> None:
    """Exit 2 (a config error) with a message naming the config file and the key."""
    assert result.exit_code == 2, result.output
    assert f"md2tex.yaml: {key}:" in result.stderr, result.stderr


# --- item 1: templates render in Jinja's sandbox -------------------------------------------

#: ways out of Jinja to Python's ``os``; each touches the file {C} if it gets there
ESCAPES = {
    "cycler": "((( cycler.__init__.__globals__.os.system('touch {C}') )))",
    "joiner": "((( joiner.__init__.__globals__.os.system('touch {C}') )))",
    "namespace": "((( namespace.__init__.__globals__.os.system('touch {C}') )))",
    "lipsum": "((( lipsum.__globals__['os'].system('touch {C}') )))",
    "attr-filter": "((( (cycler|attr('__init__')|attr('__globals__'))['os']"
                   ".system('touch {C}') )))",
    "subclasses": "((* for c in ''.__class__.__mro__[1].__subclasses__() *))"
                  "((* if c.__name__ == 'Popen' *))((( c(['touch', '{C}']) )))"
                  "((* endif *))((* endfor *))",
    "self-context": "((( self._TemplateReference__context.cycler.__init__.__globals__"
                    ".os.system('touch {C}') )))",
    "format": "((( '{0.__init__.__globals__[os].system}'.format(cycler) )))"
              "((( cycler.__init__.__globals__.os.system('touch {C}') )))",
}


def _evil(site: Path, name: str) -> tuple[Path, Path]:
    """(the template inside the site, the canary it tries to create)."""
    canary = site.parent / "canary"
    template = site / "evil.tex.j2"
    template.write_text(ESCAPES[name].replace("{C}", str(canary)) + "\n((( body )))\n",
                        encoding="utf-8")
    return template, canary


@SAFE
@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_found_template_cannot_run_a_shell_command(site: Path, name: str, safe: bool) -> None:
    template, canary = _evil(site, name)
    (site / "md2tex.yaml").write_text(f"template: {template.name}\nto: tex\n")
    result = _batch(site, safe=safe)
    assert not canary.exists(), f"{name}: the template ran a command"
    if safe:  # under --safe a site's template is raw TeX: refused before it is read
        _refused(result, "template")
    else:  # rendered in the sandbox: a template error, the post fails
        assert result.exit_code == 1, result.output
        assert "template error" in result.stderr and "unsafe" in result.stderr
    assert _outputs(site) == {}


@SAFE
@pytest.mark.parametrize("how", ["--template", "--config"])
@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_trusted_template_is_sandboxed_too(site: Path, name: str, how: str,
                                           safe: bool) -> None:
    """A template named on the command line is trusted, but still cannot reach Python: the
    sandbox is on for every template."""
    template, canary = _evil(site, name)
    if how == "--template":
        result = _batch(site, "--to", "tex", "--template", str(template), safe=safe)
    else:
        config = site.parent / "trusted.yaml"
        config.write_text(f"template: {template}\nto: tex\n")
        result = _batch(site, safe=safe, config=config)
    assert not canary.exists(), f"{name} via {how}: the template ran a command"
    assert result.exit_code == 1, result.output
    assert "template error" in result.stderr


def test_the_issue_command_line_creates_no_canary(site: Path) -> None:
    """``md2tex batch site -o out --safe`` as a process, as the red team ran it."""
    template, canary = _evil(site, "cycler")
    (site / "md2tex.yaml").write_text(f"template: {template.name}\n")
    for safe in ([], ["--safe"]):
        proc = subprocess.run([sys.executable, "-m", "md2tex", "batch", str(site), "-o",
                               str(site.parent / "out"), *safe], capture_output=True,
                              text=True, timeout=120, check=False)
        assert proc.returncode in (1, 2), proc.stderr
        assert not canary.exists()
        assert not list((site.parent / "out").rglob("*.pdf")) if (site.parent / "out"
                                                                  ).is_dir() else True


@pytest.mark.parametrize("how", ["found", "--template"])
def test_template_includes_stay_in_the_template_folder(site: Path, how: str) -> None:
    """``include`` of a symlink leading out of the template's folder is not followed."""
    (site / "leak.tex").symlink_to(_secret(site))
    (site / "main.tex.j2").write_text('((* include "leak.tex" *))\n((( body )))\n')
    if how == "found":
        (site / "md2tex.yaml").write_text("template: main.tex.j2\nto: tex\n")
        result = _batch(site)
    else:
        result = _batch(site, "--to", "tex", "--template", str(site / "main.tex.j2"))
    assert result.exit_code == 1, result.output
    assert "outside the template's folder" in result.stderr
    _no_secret_anywhere(site)


@pytest.mark.parametrize("text", [
    "((( 'x' * 10**10 )))", "((( 2 ** 100000000000 )))",
    "((* for i in range(100000) *))((* for j in range(100000) *))((( body )))"
    "((* endfor *))((* endfor *))"], ids=["repeat", "power", "loops"])
def test_template_cannot_exhaust_memory(site: Path, text: str) -> None:
    (site / "md2tex.yaml").write_text("template: big.tex.j2\nto: tex\n")
    (site / "big.tex.j2").write_text(text + "((( body )))\n")
    started = time.monotonic()
    result = _batch(site)
    assert result.exit_code == 1 and "template error" in result.stderr, result.output
    assert time.monotonic() - started < 30


def test_sandbox_keeps_our_template_and_its_skeleton_identical(tmp_path: Path) -> None:
    """md2tex's own template gives byte for byte what a plain Jinja environment gives, and
    the remembered skeleton (a rebuild without Jinja) gives the same again."""
    post = tmp_path / "post.md"
    post.write_text("---\ntitle: Sand & box\nauthor: [A, B]\ndescription: An abstract.\n"
                    "tags: [x]\n---\n\nText $x^2$ and code:\n\n```python\nprint(1)\n```\n",
                    encoding="utf-8")
    probe = """
import json, sys
import md2tex
from md2tex import pipeline
from md2tex.latex import template
seen = []
real = pipeline.render_template
pipeline.render_template = lambda values, tpl=None, memo=None: (
    seen.append(values) or real(values, tpl, memo))
doc = md2tex.convert_file(sys.argv[1], memo=md2tex.Memo.for_user())  # as the CLI
loaded = "jinja2" in sys.modules
import jinja2, jinja2.sandbox
from md2tex.latex import jinjaenv
plain = None
if loaded:
    env = jinja2.Environment(loader=jinjaenv._package_loader(), block_start_string='((*',
        block_end_string='*))', variable_start_string='(((', variable_end_string=')))',
        comment_start_string='((=', comment_end_string='=))', trim_blocks=True,
        lstrip_blocks=True, autoescape=False, keep_trailing_newline=True,
        undefined=jinja2.ChainableUndefined)
    plain = env.get_template(template.DEFAULT_TEMPLATE).render(**seen[0])
print(json.dumps({"tex": doc.tex, "plain": plain,
                  "jinja": loaded,
                  "sandbox": isinstance(jinjaenv.environment(None),
                                        jinja2.sandbox.SandboxedEnvironment)}))
"""

    def run(**env: str) -> dict[str, Any]:
        out = subprocess.run([sys.executable, "-c", probe, str(post)], capture_output=True,
                             text=True, check=True, timeout=120,
                             env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg"),
                                  "PYTHONPATH": str(Path(__file__).parents[1]), **env})
        result: dict[str, Any] = json.loads(out.stdout)
        return result

    cold = run()
    assert cold["sandbox"] and cold["plain"] == cold["tex"]
    warm = run()  # the skeleton remembered by the first run: Jinja is not imported
    assert not warm["jinja"] and warm["tex"] == cold["tex"]
    off = run(MD2TEX_MEMO="0")
    assert off["jinja"] and off["tex"] == cold["tex"] == off["plain"]


# --- item 1: files a found config names lie inside the site root ---------------------------


@SAFE
@pytest.mark.parametrize("where", ["absolute", "dotdot", "symlink"])
def test_found_template_outside_the_site_is_refused(site: Path, where: str,
                                                    safe: bool) -> None:
    """``template: ~/.ssh/id_rsa`` with ``to: tex`` would copy the key into the output."""
    secret = _secret(site)
    (site / "link.tex.j2").symlink_to(secret)
    name = {"absolute": str(secret), "dotdot": "../outside/secret.txt",
            "symlink": "link.tex.j2"}[where]
    (site / "md2tex.yaml").write_text(f"template: {name}\nto: tex\n")
    result = _batch(site, safe=safe)
    _refused(result, "template")
    if not safe:
        assert "outside the site root" in result.stderr
    assert _outputs(site) == {}
    _no_secret_anywhere(site)


def test_the_same_template_from_config_is_trusted(site: Path) -> None:
    """``--config FILE`` is the command line: its template is used wherever it is."""
    config = site.parent / "trusted.yaml"
    config.write_text(f"template: {_secret(site)}\nto: tex\n")
    result = _batch(site, config=config)
    assert result.exit_code == 0, result.output
    assert SECRET in (site.parent / "out" / "post.tex").read_text()


@SAFE
@pytest.mark.parametrize("where", ["dotdot", "symlink"])
def test_found_macros_outside_the_site_are_refused(site: Path, where: str,
                                                   safe: bool) -> None:
    macros = site.parent / "outside" / "macros.tex"
    macros.write_text(f"\\newcommand{{\\leak}}{{\\text{{{SECRET}}}}}\n")
    (site / "defs.tex").symlink_to(macros)
    name = "../outside/macros.tex" if where == "dotdot" else "defs.tex"
    (site / "md2tex.yaml").write_text(f"macros: {name}\nto: tex\n")
    result = _batch(site, safe=safe)
    _refused(result, "macros")
    _no_secret_anywhere(site)


def test_found_macros_inside_the_site_are_used(site: Path) -> None:
    (site / "defs.tex").write_text("\\newcommand{\\Prob}{\\mathbb{P}}\n")
    (site / "md2tex.yaml").write_text("macros: defs.tex\nto: tex\n")
    result = _batch(site)
    assert result.exit_code == 0, result.output
    assert "\\mathbb{P}" in (site.parent / "out" / "post.tex").read_text()


@SAFE
@pytest.mark.parametrize("paths", ["[/]", "[..]", "[assets, ../outside]", "/tmp"])
def test_found_resource_path_outside_the_site_is_refused(site: Path, paths: str,
                                                         safe: bool) -> None:
    (site / "assets").mkdir()
    (site / "post.md").write_text(f"![key](/{_secret(site).relative_to('/')})\n")
    (site / "md2tex.yaml").write_text(f"resource_path: {paths}\nto: tex\n")
    result = _batch(site, safe=safe)
    _refused(result, "resource_path")
    assert _outputs(site) == {}


def test_found_resource_path_inside_the_site_is_used(site: Path) -> None:
    (site / "assets").mkdir()
    (site / "md2tex.yaml").write_text("resource_path: [assets, .]\n")
    options = load_site_config(site).apply()
    assert options.resource_path == ((site / "assets").resolve(), site.resolve())


# --- item 2: report ------------------------------------------------------------------------


@SAFE
@pytest.mark.parametrize("target", ["../outside.json", "inside.json"])
def test_found_report_is_not_written(site: Path, target: str, safe: bool) -> None:
    """The report quotes post text (``$(...)``): a site must not choose where it goes, not
    even inside itself (a post could be a shell start-up file's ``source``)."""
    (site / "post.md").write_text("---\ntitle: $(touch /tmp/pwned)\n---\n\n`$(id)`\n")
    (site / "md2tex.yaml").write_text(f"report: {target}\nto: tex\n")
    result = _batch(site, safe=safe)
    assert result.exit_code == 0, result.output
    assert "md2tex.yaml: report: honoured only from --report or --config" in result.stderr
    assert not (site / target).exists()
    assert not (site.parent / "outside.json").exists()


def test_report_from_config_or_command_line_is_written(site: Path) -> None:
    config = site.parent / "trusted.yaml"
    config.write_text("report: ../report.json\nto: tex\n")
    result = _batch(site, config=config)
    assert result.exit_code == 0, result.output
    assert json.loads((site.parent.parent / "report.json").read_text())["posts"]
    result = _batch(site, "--report", str(site.parent / "cli.json"), "--to", "tex")
    assert (site.parent / "cli.json").is_file()


# --- item 3: --safe cannot be undone by a config -------------------------------------------

#: raw TeX that leaves the option list and puts JavaScript in the PDF
INJECT = ("margin=1in]{geometry}\\AtBeginDocument{\\pdfnames{/JavaScript << /Names [(a) << "
          "/S /JavaScript /JS (app.alert(1)) >>] >>}}\\usepackage[margin=1in")
VARIABLES = {
    "geometry": INJECT,
    "papersize": "a4paper]{article}\\AtBeginDocument{\\pdfcatalog{/OpenAction << /S "
                 "/JavaScript /JS (app.alert(1)) >>}}\\documentclass[a4paper",
    "fontsize": "11pt}\\input{/etc/passwd}{",
    "cjk_font": "x}\\pdfcatalog{/OpenAction << /S /JavaScript /JS (1) >>}{",
    "numbersections": "\\input{/etc/passwd}",
}


def _no_javascript(pdf: Path) -> None:
    """Judged by md2tex's checker and by poppler, an independent reader."""
    data = pdf.read_bytes()
    assert pdfcheck.inspect(data) == []
    js = subprocess.run(["pdfinfo", "-js", str(pdf)], capture_output=True, text=True,
                        timeout=60, check=True).stdout
    assert "app.alert" not in js and "Name Dictionary" not in js
    assert not any(b"/JavaScript" in chunk for chunk in pdfcheck.chunks(data))


def _yaml_quote(text: str) -> str:
    return json.dumps(text)  # JSON strings are YAML strings


@SAFE
@pytest.mark.parametrize("name", sorted(VARIABLES))
def test_found_variables_must_be_plain(site: Path, name: str, safe: bool) -> None:
    (site / "md2tex.yaml").write_text(
        f"variables:\n  {name}: {_yaml_quote(VARIABLES[name])}\n")
    result = _batch(site, safe=safe)
    _refused(result, "variables")
    assert name in result.stderr
    assert _outputs(site) == {}


@needs_tex
@pytest.mark.parametrize("name", ["geometry", "papersize"])
def test_raw_variables_under_safe_are_refused_from_any_source(site: Path, name: str) -> None:
    """-V and --config are trusted, but --safe asks for plain variables whoever sets them."""
    value = VARIABLES[name]
    result = _batch(site, "-V", f"{name}={value}", safe=True)
    assert result.exit_code == 1, result.output
    assert "unsafe-variable" in result.stderr
    assert not list((site.parent / "out").rglob("*.pdf"))
    config = site.parent / "trusted.yaml"
    config.write_text(f"variables:\n  {name}: {_yaml_quote(value)}\n")
    result = _batch(site, safe=True, config=config)
    assert result.exit_code == 2, result.output
    assert "trusted.yaml: variables:" in result.stderr
    with pytest.raises(md2tex.InputError) as doc_error:  # the library: Options(safe=True)
        md2tex.convert("x\n", md2tex.Options(safe=True, variables={name: value}))
    assert [d.code for d in doc_error.value.diagnostics] == ["unsafe-variable"]


@needs_tex
def test_trusted_raw_variable_without_safe_still_yields_no_javascript(site: Path) -> None:
    """Without --safe a trusted variable is TeX; the PDF check (layer 7) still refuses the
    PDF it makes: there is no PDF, or one without JavaScript."""
    config = site.parent / "trusted.yaml"
    config.write_text(f"variables:\n  geometry: {_yaml_quote(INJECT)}\ntimeout: 60\n")
    result = _batch(site, config=config)
    assert result.exit_code == 1, result.output  # TeX made it; the PDF check refused it
    for pdf in (site.parent / "out").rglob("*.pdf"):
        _no_javascript(pdf)


@needs_tex
@SAFE
def test_plain_found_variables_build_a_clean_pdf(site: Path, safe: bool) -> None:
    (site / "md2tex.yaml").write_text(
        "variables: {geometry: 'margin=2cm, top=3cm', papersize: letterpaper, "
        "fontsize: 12pt}\n")
    result = _batch(site, safe=safe)
    assert result.exit_code == 0, result.output
    pdf = site.parent / "out" / "post.pdf"
    _no_javascript(pdf)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                          check=True, timeout=60).stdout
    assert "612 x 792" in info  # letterpaper reached the preamble


@SAFE
@pytest.mark.parametrize("value", ["100000", "1e300", ".inf"])
def test_found_timeout_is_capped(site: Path, value: str, safe: bool) -> None:
    (site / "md2tex.yaml").write_text(f"timeout: {value}\nto: tex\n")
    result = _batch(site, safe=safe)
    assert result.exit_code == 0, result.output
    if value == ".inf":
        assert "md2tex.yaml: timeout: expected a positive number; ignored" in result.stderr
        assert load_site_config(site).apply().timeout == md2tex.Options().timeout
    else:
        assert f"capped at {MAX_FOUND_TIMEOUT:g} s" in result.stderr
        assert load_site_config(site).apply().timeout == MAX_FOUND_TIMEOUT


def test_timeout_from_config_or_command_line_is_not_capped(site: Path) -> None:
    config = site.parent / "trusted.yaml"
    config.write_text("timeout: 100000\n")
    assert load_site_config(site, config).apply().timeout == 100000
    (site / "md2tex.yaml").write_text("timeout: 100000\n")
    from md2tex.cli.commands import build_options

    cli = build_options(engine=None, template=None, variables=(), dollar_math=None,
                        timeout=1000.0, lenient=False, strict=False,
                        base=load_site_config(site).apply())
    assert cli.timeout == 1000.0


def test_found_jobs_are_capped(site: Path) -> None:
    (site / "md2tex.yaml").write_text("jobs: 100000\n")
    config = load_site_config(site)
    assert config.batch["jobs"] == (os.cpu_count() or 1)
    assert any("jobs: 100000 capped" in w for w in config.warnings)


#: raw HTML: LaTeX in default mode, plain text under --safe (an observable switch)
HTML_POST = "---\ntitle: t\n---\n\nSome <b>HTMLBOLD</b> text.\n"
SAFE_HTML = "\\textless{}b\\textgreater{}HTMLBOLD"


def _tex_of(site: Path) -> str:
    return (site.parent / "out" / "post.tex").read_text(encoding="utf-8")


@pytest.mark.parametrize("how", ["found", "--config"])
def test_safe_false_in_a_config_does_not_undo_safe(site: Path, how: str) -> None:
    (site / "post.md").write_text(HTML_POST)
    assert _batch(site, "--to", "tex").exit_code == 0  # the control: default mode
    assert "\\textbf{HTMLBOLD}" in _tex_of(site)
    shutil.rmtree(site.parent / "out")
    config = site.parent / "trusted.yaml" if how == "--config" else site / "md2tex.yaml"
    config.write_text("safe: false\nto: tex\n")
    result = _batch(site, safe=True, config=config if how == "--config" else None)
    assert result.exit_code == 0, result.output
    assert SAFE_HTML in _tex_of(site) and "\\textbf{HTMLBOLD}" not in _tex_of(site)
    if how == "found":
        assert "can turn --safe on, never off" in result.stderr


@pytest.mark.parametrize("how", ["found", "--config"])
def test_safe_false_in_a_config_does_not_undo_library_safe(site: Path, how: str) -> None:
    """The library: ``load_site_config(...).apply(Options(safe=True))``."""
    config = site.parent / "trusted.yaml" if how == "--config" else site / "md2tex.yaml"
    config.write_text("safe: false\n")
    loaded = load_site_config(site, config if how == "--config" else None)
    assert loaded.apply(md2tex.Options(safe=True)).safe is True


def test_found_template_is_refused_under_library_safe(site: Path) -> None:
    (site / "mine.tex.j2").write_text("((( body )))\n")
    (site / "md2tex.yaml").write_text("template: mine.tex.j2\n")
    loaded = load_site_config(site)  # the library did not say safe here...
    assert loaded.apply().template == (site / "mine.tex.j2").resolve()
    with pytest.raises(md2tex.InputError, match=r"md2tex\.yaml: template:"):
        loaded.apply(md2tex.Options(safe=True))  # ...but its Options do


def test_found_config_can_turn_safe_on(site: Path) -> None:
    (site / "post.md").write_text(HTML_POST)
    (site / "md2tex.yaml").write_text("safe: true\nto: tex\n")
    result = _batch(site)
    assert result.exit_code == 0, result.output
    assert SAFE_HTML in _tex_of(site)


def test_jekyll_config_gives_only_site_values(site: Path) -> None:
    """``_config.yml`` is the site's own file: md2tex reads ``site.*`` from it, nothing else
    (a ``template:`` or ``report:`` there is not an md2tex key)."""
    (site / "_config.yml").write_text(
        f"title: Blog\ntemplate: {_secret(site)}\nreport: ../x.json\ntimeout: 100000\n")
    (site / "_posts").mkdir()
    (site / "post.md").rename(site / "_posts" / "post.md")
    config = load_site_config(site)
    assert set(config.options) == {"site"} and config.batch == {}
    result = _batch(site, "--to", "tex")
    assert result.exit_code == 0, result.output
    _no_secret_anywhere(site)
    assert not (site.parent / "x.json").exists()


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))


def test_config_files_are_read_within_bounds(site: Path) -> None:
    """A found config is YAML from the site: an alias bomb or a huge file is refused (the
    Jekyll config's: a warning), in well under a second."""
    (site / "md2tex.yaml").write_text(BOMB)
    started = time.monotonic()
    result = _batch(site, "--to", "tex")
    assert result.exit_code == 2 and "alias bomb" in result.stderr, result.output
    (site / "md2tex.yaml").write_text("site: {title: " + "x" * 1_100_000 + "}\n")
    result = _batch(site, "--to", "tex")
    assert result.exit_code == 2 and "config larger than" in result.stderr, result.output
    (site / "md2tex.yaml").unlink()
    (site / "_config.yml").write_text(BOMB)
    result = _batch(site, "--to", "tex")
    assert result.exit_code == 0, result.output
    assert "alias bomb" in result.stderr and "Jekyll config ignored" in result.stderr
    assert time.monotonic() - started < 10


def test_symlink_loop_in_a_config_path_is_an_error(site: Path) -> None:
    (site / "a.tex.j2").symlink_to(site / "b.tex.j2")
    (site / "b.tex.j2").symlink_to(site / "a.tex.j2")
    (site / "md2tex.yaml").write_text("template: a.tex.j2\n")
    result = _batch(site)
    _refused(result, "template")
    assert "cannot resolve" in result.stderr
