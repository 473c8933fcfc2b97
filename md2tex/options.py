"""One frozen set of options; merged as defaults < config file < front matter < command line."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from md2tex import optionschema, texengine
from md2tex.mathengine import dollar_mode

#: the TeX engines ``engine`` may name (``texengine``)
ENGINES = texengine.NAMES
#: md2tex's own template (``templates/``), used unless ``template`` names another
DEFAULT_TEMPLATE = "article.tex.j2"
#: a *plain* template variable: an option list (``margin=2cm, a4paper``, ``12pt``), no TeX.
#: Variables land in the preamble as TeX (``\usepackage[VALUE]{geometry}``), so under
#: ``--safe`` (whoever set them) and from a config found in the site, only these are accepted
PLAIN_VARIABLE = re.compile(r"[A-Za-z0-9=,.\- ]{0,200}")
#: what the ``papersize`` template variable may list (the class option; geometry reads it
#: too): LaTeX's and geometry's paper names and orientations. A raw TeX value is not judged
#: here: it is trusted TeX, or refused under ``--safe`` (``check_variables``)
PAPER_SIZES = frozenset(
    [f"{s}{n}paper" for s in "abc" for n in range(7)] + [f"b{n}j" for n in range(7)]
    + [f"ansi{c}paper" for c in "abcde"]
    + ["letterpaper", "legalpaper", "executivepaper", "screen", "landscape", "portrait"])


@dataclass(frozen=True)
class Options:
    """Everything that changes how a post is converted or built."""

    engine: str = texengine.DEFAULT
    #: single-dollar ``$..$`` inline math: True (the math engine's rule: ``$ x $`` is math),
    #: False (kramdown sites often), ``"pandoc"`` (``$5 and $10`` stays text)
    dollar_math: bool | str = True
    #: the site's web math engine (``mathengine.ENGINES``): its delimiters, macros, leniencies
    math_engine: str = "mathjax3"
    #: ``auto``: number equations only when the post uses ``\\label``/``\\eqref``
    #: (MathJax's default numbers nothing); ``ams`` (MathJax ``tags: "ams"``); ``all``; ``none``
    equation_numbers: str = "auto"
    template: Path | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 60.0
    keep_tex: bool = False
    #: decode undecodable bytes with U+FFFD instead of failing
    lenient: bool = False
    safe: bool = False
    strict: bool = False
    #: directory that relative image paths are resolved against
    base_dir: Path | None = None
    #: trusted folders where images are also looked up (``/x`` and ``x`` alike)
    resource_path: tuple[Path, ...] = ()
    #: where a post's ``/...`` paths start and what no file it names may leave (with the
    #: post's folder and ``resource_path``); None: the parent of the ``_posts``/``_drafts``
    #: folder the post is in, else the post's folder (``images.site_root_for``)
    site_root: Path | None = None
    #: ``\\newcommand`` definitions (text) that apply to every post
    macros: str = ""
    site: Mapping[str, Any] = field(default_factory=dict)
    #: ``{% post_url NAME %}`` targets: post name (``2018-02-19-slug``) -> liquid.PostRef
    #: (title, url); batch code fills it with the posts it converts
    posts: Mapping[str, Any] = field(default_factory=dict)
    #: reuse a precompiled format of the preamble (the engines whose ``texengine`` row
    #: ``dumps_formats``; see ``tex/formats.py``)
    format_cache: bool = True
    #: ask TeX about formulas that use TeX programming the checker cannot judge (a short
    #: probe compile, only when a post has one; see ``tex/probe.py``); off: they get a warning
    probe_math: bool = True
    #: option names the user set on the command line; front matter does not override them
    cli_keys: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        """A bad value is a ``ValueError`` naming the field and what it allows, here rather
        than as a puzzling failure deep in a build (``engine="foo"``: "foo not found")."""
        for f in fields(self):
            s = optionschema.BY_NAME.get(f.name)
            if s is not None and s.checked:
                optionschema.check(s, getattr(self, f.name))
        paper = self.variables.get("papersize")
        if paper is not None and PLAIN_VARIABLE.fullmatch(str(paper)):
            unknown = [p for p in str(paper).replace(" ", "").split(",")
                       if p and p not in PAPER_SIZES]
            if unknown:
                raise ValueError(f"Options.variables: papersize {', '.join(unknown)} is not "
                                 f"allowed: expected paper names like a4paper, letterpaper, "
                                 f"a5paper, b5paper, legalpaper (and landscape)")

    def merged(self, overrides: Mapping[str, Any]) -> Options:
        """Return a copy with known keys from ``overrides`` applied; unknown keys are ignored."""
        known = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in overrides.items() if k in known})

    def with_front_matter(self, meta: Mapping[str, Any]) -> Options:
        """Apply the post's own settings, except those the command line fixed."""
        wanted = options_from_front_matter(meta)
        return self.merged({k: v for k, v in wanted.items() if k not in self.cli_keys})


#: the options a post's front matter may set (under ``md2tex:`` or at the top level)
POST_KEYS = frozenset(s.name for s in optionschema.SETTINGS if s.front_matter)


def options_from_front_matter(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The few options a post may set for itself in its front matter."""
    out: dict[str, Any] = {}
    for key in sorted(POST_KEYS):
        if key in meta:
            out[key] = meta[key]
    if "md2tex" in meta and isinstance(meta["md2tex"], Mapping):
        # a post is untrusted: it may choose how its own text reads, never where files come
        # from, what the template or preamble is, time limits or --safe
        out.update({str(k): v for k, v in meta["md2tex"].items() if str(k) in POST_KEYS})
    if "dollar_math" in out:  # the words a config takes too (``dollar_math: off``)
        out["dollar_math"] = dollar_mode(out["dollar_math"])
    for key in list(out):
        try:
            optionschema.check(optionschema.BY_NAME[key], out[key])
        except ValueError:
            del out[key]  # a value md2tex cannot use: the post keeps the site's setting
    return out


def unplain_variables(variables: Mapping[str, Any]) -> list[str]:
    """The names (sorted) whose values are not plain option lists (``PLAIN_VARIABLE``)."""
    return sorted(str(k) for k, v in variables.items()
                  if not PLAIN_VARIABLE.fullmatch(str(v)))


def check_variables(options: Options, path: str) -> None:
    """Under ``--safe`` every template variable must be plain, from any source (``-V``, a
    config file, ``Options``): otherwise it is raw TeX in the preamble, outside the math
    whitelist. An InputError naming the variables."""
    bad = unplain_variables(options.variables) if options.safe else []
    if bad:
        from md2tex.diagnostics import InputError, error

        names = ", ".join(bad)
        raise InputError(f"--safe: template variable {names} is not plain", [error(
            "unsafe-variable", f"--safe: template variable {names} must be a plain option "
            "list (letters, digits, '=', ',', '.', '-', spaces; at most 200 characters)",
            path=path, hint="variables land in the preamble as TeX")])
