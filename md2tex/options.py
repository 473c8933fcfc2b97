"""One frozen set of options; merged as defaults < config file < front matter < command line."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from md2tex.mathengine import ENGINES as MATH_ENGINES
from md2tex.mathengine import EQUATION_NUMBERS, dollar_mode

ENGINES = ("pdflatex", "xelatex", "lualatex")
#: md2tex's own template (``templates/``), used unless ``template`` names another
DEFAULT_TEMPLATE = "article.tex.j2"
#: a *plain* template variable: an option list (``margin=2cm, a4paper``, ``12pt``), no TeX.
#: Variables land in the preamble as TeX (``\usepackage[VALUE]{geometry}``), so under
#: ``--safe`` (whoever set them) and from a config found in the site, only these are accepted
PLAIN_VARIABLE = re.compile(r"[A-Za-z0-9=,.\- ]{0,200}")


@dataclass(frozen=True)
class Options:
    """Everything that changes how a post is converted or built."""

    engine: str = "pdflatex"
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
    #: reuse a precompiled format of the preamble (pdflatex; see fmtcache.py)
    format_cache: bool = True
    #: ask TeX about formulas that use TeX programming the checker cannot judge (a short
    #: probe compile, only when a post has one; see mathprobe.py); off: they get a warning
    probe_math: bool = True
    #: option names the user set on the command line; front matter does not override them
    cli_keys: frozenset[str] = frozenset()

    def merged(self, overrides: Mapping[str, Any]) -> Options:
        """Return a copy with known keys from ``overrides`` applied; unknown keys are ignored."""
        known = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in overrides.items() if k in known})

    def with_front_matter(self, meta: Mapping[str, Any]) -> Options:
        """Apply the post's own settings, except those the command line fixed."""
        wanted = options_from_front_matter(meta)
        return self.merged({k: v for k, v in wanted.items() if k not in self.cli_keys})


#: the options a post's front matter may set (under ``md2tex:`` or at the top level)
POST_KEYS = frozenset({"dollar_math", "equation_numbers", "engine", "math_engine"})


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
    if out.get("equation_numbers") not in (None, *EQUATION_NUMBERS):
        del out["equation_numbers"]
    if "dollar_math" in out:
        mode = dollar_mode(out["dollar_math"])
        if mode is None:
            del out["dollar_math"]
        else:
            out["dollar_math"] = mode
    if "math_engine" in out and out["math_engine"] not in MATH_ENGINES:
        del out["math_engine"]
    if "engine" in out and out["engine"] not in ENGINES:
        del out["engine"]
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
