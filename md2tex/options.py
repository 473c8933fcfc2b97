"""One frozen set of options; merged as defaults < config file < front matter < command line."""

from __future__ import annotations

import inspect
import json
import os
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
    #: no network: remote images stay placeholders (downloads need a ``Memo`` anyway)
    offline: bool = False
    strict: bool = False
    #: directory that relative image paths are resolved against
    base_dir: Path | None = None
    #: trusted folders where images are also looked up (``/x`` and ``x`` alike)
    resource_path: tuple[Path, ...] = ()
    #: where a post's ``/...`` paths start and what no file it names may leave (with the
    #: post's folder and ``resource_path``); None: the parent of the ``_posts``/``_drafts``
    #: folder the post is in, else the post's folder (``images.site_root_for``)
    site_root: Path | None = None
    #: math macros for every post, held as text: given as LaTeX ``\\newcommand`` lines, a
    #: ``Path`` (or a ``str`` with no backslash and no line break) naming a .tex/.txt or
    #: YAML/JSON macro file, read now, or a mapping ``{"\\R": "\\mathbb{R}"}``
    #: (``macros_text``)
    macros: str = ""
    site: Mapping[str, Any] = field(default_factory=dict)
    #: the site's theme includes and plugin tags: name (``figure.html``, ``marginnote``) ->
    #: a built-in handler name or a Jinja snippet (``markdown/includes.py``)
    includes: Mapping[str, Any] = field(default_factory=dict)
    #: ``{% post_url NAME %}`` targets: post name (``2018-02-19-slug``) -> liquid.PostRef
    #: (title, url); batch code fills it with the posts it converts (internal: not in the
    #: public signature)
    posts: Mapping[str, Any] = field(default_factory=dict, repr=False, kw_only=True)
    #: reuse a precompiled format of the preamble (the engines whose ``texengine`` row
    #: ``dumps_formats``; see ``tex/formats.py``)
    format_cache: bool = True
    #: ask TeX about formulas that use TeX programming the checker cannot judge (a short
    #: probe compile, only when a post has one; see ``tex/probe.py``); off: they get a warning
    probe_math: bool = True
    #: a table of contents after the title, listing headings down to level ``toc_depth``
    toc: bool = False
    toc_depth: int = 3
    #: numbered headings (``-N``; ``-V numbersections`` too)
    number_sections: bool = False
    #: front matter values that win over every post's own (``-M KEY=VALUE``)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    #: raw LaTeX for the preamble (``-H FILE``, held as its text); refused under ``safe``
    include_in_header: str = ""
    #: the Pygments style of code's colours; ``highlight`` False: code without colours
    highlight_style: str = optionschema.DEFAULT_STYLE
    highlight: bool = True
    #: option names the user set on the command line; front matter does not override them
    #: (internal: not in the public signature)
    cli_keys: frozenset[str] = field(default=frozenset(), repr=False, kw_only=True)

    def __post_init__(self) -> None:
        """A bad value is a ``ValueError`` naming the field and what it allows, here rather
        than as a puzzling failure deep in a build (``engine="foo"``: "foo not found")."""
        object.__setattr__(self, "macros", macros_text(self.macros))
        for name in ("base_dir", "site_root"):  # folders given as text are folders too
            value = getattr(self, name)
            if isinstance(value, (str, os.PathLike)) and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
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


#: fields only md2tex itself fills (a batch's posts, the command line's keys): keyword-only
#: and left out of the constructor's documented signature (``dataclasses.replace`` sets them)
PRIVATE_FIELDS = frozenset({"posts", "cli_keys"})
_SIGNATURE = inspect.signature(Options)
Options.__signature__ = _SIGNATURE.replace(  # type: ignore[attr-defined]
    parameters=[p for p in _SIGNATURE.parameters.values() if p.name not in PRIVATE_FIELDS])

#: ``Options.macros`` text read from a file starts with this line naming the file
#: (``md2tex.math.sitemacros`` reads each part back)
MACROS_FILE_TAG = "%md2tex-macros-file: "
#: ``Options.macros`` given as a mapping: this tag, then the mapping as JSON on one line
MACROS_MAPPING_TAG = "%md2tex-macros-mapping: "


def macros_text(value: Any) -> str:
    """``Options.macros`` as the text it holds. A ``Path`` names a macro file; so does a
    ``str`` with no backslash, no line break and no leading ``%`` (LaTeX definitions always
    have a backslash), which must then exist: a file name is never taken as LaTeX. The file
    is read now (a .tex/.txt of ``\\newcommand`` lines, or a YAML/JSON mapping, parsed by
    the math room), so the options carry its text wherever they go. A mapping is KaTeX's
    (``{"\\R": "\\mathbb{R}"}``) or MathJax's (``{"R": ["\\mathbf{#1}", 1]}``); anything
    else is a ``ValueError`` naming ``Options.macros``."""
    if isinstance(value, str) and ("\\" in value or "\n" in value or not value.strip()
                                   or value.lstrip().startswith("%")):
        return value
    if isinstance(value, (str, os.PathLike)):
        path = Path(value)
        try:
            return f"{MACROS_FILE_TAG}{path.resolve()}\n{path.read_text(encoding='utf-8')}"
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or exc
            raise ValueError(f"Options.macros: cannot read the macro file {str(value)!r}: "
                             f"{why} (LaTeX definitions start with a backslash)") from None
    if isinstance(value, Mapping):
        try:
            return MACROS_MAPPING_TAG + json.dumps(dict(value), ensure_ascii=False) \
                if value else ""
        except (TypeError, ValueError):
            pass
    raise ValueError(f"Options.macros: {value!r} is not allowed: expected LaTeX definitions, "
                     "a macro file's name or a mapping of macro names to LaTeX")


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
    if options.safe and options.include_in_header.strip():
        from md2tex.diagnostics import InputError, error

        raise InputError("--safe: no raw LaTeX in the preamble", [error(
            "unsafe-header", "--safe: include_in_header (-H) is raw LaTeX for the preamble, "
            "which --safe keeps out", path=path)])
    bad = unplain_variables(options.variables) if options.safe else []
    if bad:
        from md2tex.diagnostics import InputError, error

        names = ", ".join(bad)
        raise InputError(f"--safe: template variable {names} is not plain", [error(
            "unsafe-variable", f"--safe: template variable {names} must be a plain option "
            "list (letters, digits, '=', ',', '.', '-', spaces; at most 200 characters)",
            path=path, hint="variables land in the preamble as TeX")])
