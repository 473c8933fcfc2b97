"""Every setting md2tex has, declared once: its kind, where it may be set (command line, a
config file, a post's front matter) and its help.

The command line's click options (``md2tex.cli.commands``), the config keys and how their
values are read (``md2tex.site.config``), the front-matter whitelist (``options.POST_KEYS``)
and the checks ``Options`` makes at construction are all derived from ``SETTINGS``, so a new
setting is one row here (plus its ``Options`` field, which holds its type and default).
What a config *found* in a site may do with a key is a trust question and stays in
``md2tex.site.config`` (``RULES``), keyed by these names.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from md2tex import mathengine, texengine

#: how a value is read and checked: ``bool``; ``choice`` (one of ``choices``); ``dollar``
#: (``mathengine.DOLLAR_MODES``); ``seconds`` (a positive finite number); ``jobs`` (a positive
#: whole number); ``count``; ``file`` (a file md2tex reads); ``outfile`` (a file it writes);
#: ``paths`` (folders); ``mapping``; ``variables`` (a mapping of text values)
Kind = Literal["bool", "choice", "dollar", "seconds", "jobs", "count", "file", "outfile",
               "paths", "mapping", "variables", "codes", "style"]
#: how a flag changes the option: ``set`` (given: replaces the value, and the post's front
#: matter cannot override it); ``on`` / ``off`` (the flag turns it on / off; absent: unchanged);
#: ``add`` (adds to what the config set: template variables, macro files)
Effect = Literal["set", "on", "off", "add"]
#: the commands that carry the options every command shares
COMMON = frozenset({"convert", "check", "batch", "watch"})


class Setting(NamedTuple):
    """One setting. ``section`` ``options`` is an ``Options`` field of the same name (its type
    and default are the field's); ``batch`` is a setting of the batch run itself."""

    name: str
    kind: Kind
    help: str = ""
    section: Literal["options", "batch"] = "options"
    choices: tuple[Any, ...] = ()
    #: a key of ``md2tex.yaml`` / ``--config`` (``-`` may stand for ``_``)
    config: bool = True
    #: a post may set it in its front matter (a post is untrusted: only how its own text
    #: reads, never where files come from, the template, time limits or ``--safe``)
    front_matter: bool = False
    #: the command-line flag's declarations (click's), none: not on the command line
    flag: tuple[str, ...] = ()
    #: the name the flag's value arrives under in the command's arguments
    param: str = ""
    effect: Effect = "set"
    commands: frozenset[str] = COMMON
    #: ``Options`` checks the value at construction (``macros`` holds text there, not the
    #: file name the config and command line give)
    checked: bool = True
    #: the batch run's default (``options`` settings: the ``Options`` field's default)
    default: Any = None
    metavar: str | None = None

    @property
    def param_name(self) -> str:
        return self.param or self.name

    def expected(self) -> str:
        """What a value must be, for messages."""
        if self.kind == "choice":
            return "one of " + ", ".join(map(str, self.choices))
        return _EXPECTED[self.kind]


_EXPECTED: Mapping[str, str] = MappingProxyType({
    "bool": "true or false", "dollar": "true, false or pandoc",
    "seconds": "a positive number", "jobs": "a positive whole number",
    "count": "a whole number", "file": "a file name", "outfile": "a file name",
    "paths": "a list of folders", "mapping": "a mapping", "variables": "a mapping",
    "codes": "diagnostic codes (docs/diagnostics.md)",
    "style": "a Pygments style (pygmentize -L styles), e.g. friendly, monokai, solarized-light",
})


def parse_bool(value: Any) -> bool | None:
    """A yes/no setting as md2tex reads it everywhere (``true``/``yes``/``on``/``1`` and
    their opposites, or a YAML boolean), or None when it is neither. The words are the ones
    ``dollar_math`` accepts (``mathengine.dollar_mode``), so both read alike."""
    mode = mathengine.dollar_mode(value)
    return mode if isinstance(mode, bool) else None


SETTINGS: tuple[Setting, ...] = (
    Setting("engine", "choice", "TeX engine (default {default}).", choices=texengine.NAMES,
            front_matter=True, flag=("--engine", "--pdf-engine")),
    Setting("template", "file",
            "Jinja template (LaTeX-safe delimiters) to use instead of ours.",
            flag=("--template",)),
    Setting("variables", "variables", "Set a template variable, e.g. -V papersize=letterpaper.",
            flag=("-V",), effect="add", metavar="KEY=VALUE"),
    Setting("dollar_math", "dollar", "Treat single $..$ as inline math (default on).",
            choices=mathengine.DOLLAR_MODES, front_matter=True,
            flag=("--dollar-math/--no-dollar-math",)),
    Setting("timeout", "seconds", "Seconds TeX may run before it is stopped.",
            flag=("--timeout",)),
    Setting("lenient", "bool", "Replace undecodable bytes.", flag=("--lenient",), effect="on"),
    Setting("safe", "bool",
            "Untrusted posts: math only from the whitelist of known math macros, raw HTML as "
            "text, images only from the post's folder and the resource path (see "
            "SECURITY.md).", flag=("--safe",), effect="on"),
    Setting("macros", "file",
            "Site macros: a .tex/.txt of \\newcommand lines, or a YAML/JSON mapping like "
            "KaTeX's macros.", flag=("--macros",), param="macros_file", effect="add",
            checked=False),
    Setting("strict", "bool", "Treat warnings as errors.", flag=("--strict",), effect="on"),
    Setting("offline", "bool", "Do not download remote images (they stay placeholders).",
            flag=("--offline",), effect="on"),
    Setting("probe_math", "bool",
            "Do not ask TeX about formulas with TeX programming (\\global, \\edef...); they "
            "get a warning (an error with --strict).", flag=("--no-probe",), param="no_probe",
            effect="off"),
    Setting("math_engine", "choice", choices=mathengine.ENGINES, front_matter=True),
    Setting("equation_numbers", "choice", choices=mathengine.EQUATION_NUMBERS,
            front_matter=True),
    Setting("resource_path", "paths",
            "Folders where images are also looked up, separated by ':' (as pandoc's).",
            flag=("--resource-path",), metavar="DIR:DIR"),
    Setting("site", "mapping"),
    Setting("includes", "mapping",
            "Theme includes and plugin tags: name -> a built-in handler (figure, image, "
            "sidenote, marginnote, drop, text...) or a Jinja snippet writing Markdown."),
    Setting("format_cache", "bool", "Do not use precompiled preamble formats.",
            flag=("--no-format-cache",), param="no_format_cache", effect="off",
            commands=frozenset({"batch"})),
    Setting("keep_tex", "bool", "Also write the .tex next to the PDF.", flag=("--keep-tex",),
            effect="on", commands=frozenset({"convert", "batch"})),
    Setting("toc", "bool", "A table of contents after the title.", flag=("--toc",),
            effect="on"),
    Setting("toc_depth", "jobs", "Heading levels the table of contents lists (default "
            "{default}).", flag=("--toc-depth",), metavar="N"),
    Setting("number_sections", "bool", "Number the headings.",
            flag=("-N", "--number-sections"), effect="on"),
    Setting("metadata", "mapping",
            "Set a front matter value of every post, over its own: title, author, date, "
            "subtitle, description...", flag=("-M", "--metadata"), effect="add",
            metavar="KEY=VALUE"),
    Setting("include_in_header", "file",
            "Raw LaTeX added to the preamble (repeatable; refused under --safe).",
            flag=("-H", "--include-in-header"), effect="add", checked=False),
    Setting("highlight_style", "style", "Colours of highlighted code: a Pygments style "
            "(default {default}).", flag=("--highlight-style",), metavar="NAME"),
    Setting("highlight", "bool", "Code as plain verbatim, without colours.",
            flag=("--no-highlight",), param="no_highlight", effect="off"),
    Setting("to", "choice", "Write PDFs (default) or LaTeX files.", section="batch",
            choices=("pdf", "tex"), default="pdf", flag=("--to",),
            commands=frozenset({"batch"})),
    Setting("jobs", "jobs", "Posts converted at once (default: CPU count).", section="batch",
            flag=("-j", "--jobs"), commands=frozenset({"batch"})),
    Setting("fail_fast", "bool", "Stop at the first failed post.", section="batch",
            default=False, flag=("--fail-fast",), effect="on", commands=frozenset({"batch"})),
    Setting("force", "bool", "Rebuild unchanged posts too.", section="batch", default=False,
            flag=("--force",), effect="on", commands=frozenset({"batch"})),
    Setting("report", "outfile",
            "Write a JSON report: per post path, status, output, seconds, diagnostics.",
            section="batch", flag=("--report",), param="report_file",
            commands=frozenset({"batch"})),
    Setting("verbose", "count", "Show notes and TeX details.", section="batch", default=0,
            flag=("-v", "--verbose")),
    Setting("ignore", "codes",
            "Do not report these diagnostic codes (repeatable, or CODE,CODE).",
            section="batch", default=(), flag=("--ignore",), metavar="CODE",
            commands=frozenset({"check"})),
    Setting("select", "codes", "Report only these diagnostic codes (repeatable, or CODE,CODE).",
            section="batch", default=(), flag=("--select",), metavar="CODE",
            commands=frozenset({"check"})),
    Setting("drafts", "bool", "Also convert _drafts/ and posts with published: false.",
            section="batch", default=False, flag=("--drafts",), effect="on",
            commands=frozenset({"batch"})),
    Setting("quiet", "bool", "Only print errors.", section="batch", default=False,
            flag=("-q", "--quiet"), effect="on"),
)
BY_NAME: Mapping[str, Setting] = MappingProxyType({s.name: s for s in SETTINGS})
#: ``Options`` fields no user sets by name: filled by md2tex itself (``cli_keys``, the
#: ``posts`` a batch converts) or by the library's caller and the CLI's positional arguments
INTERNAL_FIELDS = frozenset({"base_dir", "site_root", "posts", "cli_keys"})


#: the Pygments style of code unless ``highlight_style`` names another
DEFAULT_STYLE = "friendly"


@lru_cache(maxsize=1)
def pygments_styles() -> frozenset[str]:
    """Every Pygments style installed (plugins too), asked only when one is named."""
    from pygments.styles import get_all_styles

    return frozenset(get_all_styles())


def setting(name: str) -> Setting:
    return BY_NAME[name]


def check(s: Setting, value: Any) -> None:
    """``ValueError`` unless ``value`` is already a valid value of ``s`` as ``Options`` holds
    it (no reading of words: the library's caller passes Python values)."""
    ok: bool
    if s.kind == "bool":
        ok = isinstance(value, bool)
    elif s.kind == "choice":
        ok = isinstance(value, str) and value in s.choices
    elif s.kind == "dollar":
        ok = isinstance(value, bool) or value == "pandoc"
    elif s.kind == "seconds":
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
              and math.isfinite(value) and value > 0)
    elif s.kind in ("jobs", "count"):
        ok = isinstance(value, int) and not isinstance(value, bool) and (
            value > 0 if s.kind == "jobs" else value >= 0)
    elif s.kind in ("file", "outfile"):
        ok = value is None or isinstance(value, (str, os.PathLike))
    elif s.kind == "paths":
        ok = isinstance(value, (tuple, list)) and all(
            isinstance(p, (str, os.PathLike)) for p in value)
    elif s.kind == "style":  # the default without asking Pygments (its import is slow)
        ok = isinstance(value, str) and (value == DEFAULT_STYLE or value in pygments_styles())
    elif s.kind == "codes":
        from md2tex.diagnostic_codes import CODES

        ok = isinstance(value, (tuple, list)) and all(v in CODES for v in value)
    else:  # mapping, variables
        ok = isinstance(value, Mapping)
    if not ok:
        raise ValueError(f"Options.{s.name}: {value!r} is not allowed: expected "
                         f"{s.expected()}")
