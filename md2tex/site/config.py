"""Site configuration: ``--config FILE`` / ``md2tex.yaml`` and Jekyll's ``_config.yml``.

Precedence is defaults < config file < front matter < command line: the config file makes the
base ``Options``; each post's front matter applies on top (``Options.with_front_matter``); the
command line's explicit flags win (``Options.cli_keys``).

Keys (relative paths are taken from the config file's folder)::

    engine: pdflatex            # every CLI option by name: engine, template, timeout,
    dollar_math: false          #   lenient, strict, equation_numbers, to, jobs, fail_fast,
    macros: macros.tex          #   force, report, format_cache, probe_math
    resource_path: [assets, .]  # where /assets/... and img/... are looked up
    variables: {papersize: letterpaper}
    site: {url: https://example.org}

A Jekyll ``_config.yml`` in the site root supplies ``site.*`` (url, baseurl, title, author,
description, ...) and its ``kramdown:`` settings (as ``site.kramdown``); ``site:`` keys of the
md2tex config win over it. Unknown keys are reported as warnings, never fatal.

Trust: a file given as ``--config`` is part of the command line and trusted like it. A config
*found* in the input folder (``md2tex.yaml``; ``_config.yml`` gives only ``site.*``) comes
with the posts, so it is input: each key's ``Rule`` in ``RULES`` says what such a config may do
with it (files only inside the site root, a capped timeout, no report, plain variables, --safe
only turned on). SECURITY.md states these bounds.

The keys, their kinds and sections come from ``optionschema.SETTINGS``; the trust column
(``_FOUND``) and what a value names (``_LOAD``) are here, keyed by setting name.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, NoReturn

from md2tex import mathengine
from md2tex.diagnostics import InputError
from md2tex.math.macros import MacroError
from md2tex.math.sitemacros import file_text
from md2tex.options import PLAIN_VARIABLE, Options, unplain_variables
from md2tex.optionschema import BY_NAME, SETTINGS, Setting, parse_bool, pygments_styles

log = logging.getLogger(__name__)

CONFIG_NAME = "md2tex.yaml"
JEKYLL_CONFIG = "_config.yml"
JEKYLL_SITE_KEYS = ("url", "baseurl", "title", "author", "description", "email", "lang",
                    "permalink")
#: the longest TeX run (seconds) a config found in the site may ask for
MAX_FOUND_TIMEOUT = 300.0
#: the largest config file read
MAX_CONFIG_BYTES = 1_000_000


class Origin(NamedTuple):
    """Where a config mapping comes from, which decides what it may do."""

    path: Path
    #: given as ``--config``: trusted like the command line; else found in the site: input
    trusted: bool = True
    #: the resolved site root: files a found config names must lie inside it
    root: Path | None = None
    #: ``--safe`` on the command line, or the config's own ``safe: true``
    safe: bool = False


class _Ignored(Exception):
    """A value that cannot be used: a warning, and the key is ignored."""


@dataclass
class _Key:
    """The key being read, for its rules' messages."""

    origin: Origin
    name: str
    warnings: list[str]

    def warn(self, why: str) -> None:
        self.warnings.append(f"{self.origin.path}: {self.name}: {why}")

    def refuse(self, why: str) -> NoReturn:
        raise InputError(f"{self.origin.path}: {self.name}: {why}")


Step = Callable[[Any, _Key], Any]


def _keep(value: Any, key: _Key) -> Any:
    return value


class Rule(NamedTuple):
    """How one key is read: ``parse`` checks and normalises the value (``_Ignored``: a
    warning); ``found`` is what a config found in the site may do with it (keep, cap,
    confine, refuse); ``load`` reads what the value names, once allowed."""

    section: Literal["options", "batch"]
    parse: Step
    found: Step = _keep
    load: Step = _keep


# --- parse: what a value must look like, from any config


def _bool(value: Any, key: _Key) -> bool:
    flag = parse_bool(value)
    if flag is None:
        raise _Ignored("expected true or false")
    return flag


def _dollar(value: Any, key: _Key) -> bool | str:
    mode = mathengine.dollar_mode(value)
    if mode is None:
        raise _Ignored("expected true, false or pandoc")
    return mode


def _choice(*choices: str) -> Step:
    def parse(value: Any, key: _Key) -> Any:
        if value not in choices:
            raise _Ignored(f"expected one of {', '.join(choices)}")
        return value
    return parse


def _positive(kind: type[float] | type[int]) -> Step:
    def parse(value: Any, key: _Key) -> Any:
        try:
            number = kind(value)
        except (TypeError, ValueError, OverflowError):
            raise _Ignored("expected a number") from None
        if not math.isfinite(number) or number <= 0:
            raise _Ignored("expected a positive number")
        return number
    return parse


def _style(value: Any, key: _Key) -> str:
    if not isinstance(value, str) or value not in pygments_styles():
        raise _Ignored(f"expected {BY_NAME['highlight_style'].expected()}")
    return value


def _count(value: Any, key: _Key) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError, OverflowError):
        raise _Ignored("expected a number") from None


def _path(value: Any, key: _Key) -> Path:
    if not isinstance(value, (str, int, float)) or not str(value).strip():
        raise _Ignored("expected a file name")
    try:
        return (key.origin.path.parent / str(value)).resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        key.refuse(f"cannot resolve {value!r}: {exc}")


def _paths(value: Any, key: _Key) -> tuple[Path, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise _Ignored("expected a list of folders")
    return tuple(_path(item, key) for item in items)


def _mapping(value: Any, key: _Key) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _Ignored("expected a mapping")
    return {str(k): v for k, v in value.items()}


def _variables(value: Any, key: _Key) -> dict[str, str]:
    """Text values; under --safe (from any config) plain option lists only."""
    variables = {k: str(v) for k, v in _mapping(value, key).items()}
    if key.origin.safe:
        _require_plain(variables, key, "under --safe every template variable")
    return variables


# --- found: what a config found in the site may do (SECURITY.md lists these bounds)


def _require_plain(variables: Mapping[str, str], key: _Key, who: str) -> None:
    bad = unplain_variables(variables)
    if bad:
        key.refuse(f"{', '.join(bad)}: {who} must be a plain option list (letters, digits, "
                   f"'=', ',', '.', '-', spaces: {PLAIN_VARIABLE.pattern}), as it lands in "
                   "the preamble as TeX")


def _plain(value: dict[str, str], key: _Key) -> dict[str, str]:
    _require_plain(value, key, "a template variable from a config found in the site "
                               "(give it with -V or --config to trust it)")
    return value


def _inside_site(value: Path | tuple[Path, ...], key: _Key) -> Path | tuple[Path, ...]:
    """Every path (resolved: a symlink counts where it leads) inside the site root."""
    root = key.origin.root
    for path in value if isinstance(value, tuple) else (value,):
        if root is None or not path.is_relative_to(root):
            key.refuse(f"{path} is outside the site root {root}: a config found in the "
                       "site may name only files inside it (give it with --config or the "
                       "command line to trust it)")
    return value


def _template_in_site(value: Path, key: _Key) -> Path:
    if key.origin.safe:
        key.refuse("a template is raw TeX, which --safe keeps out of a site's files (give "
                   "it with --template or --config to trust it)")
    _inside_site(value, key)
    return value


def _header_in_site(value: Path, key: _Key) -> Path:
    if key.origin.safe:
        key.refuse("a header is raw TeX, which --safe keeps out of a site's files")
    _inside_site(value, key)
    return value


def _capped(limit: float) -> Step:
    def found(value: float, key: _Key) -> float:
        if value > limit:
            key.warn(f"{value:g} s capped at {limit:g} s for a config found in the site "
                     "(--timeout or --config can set more)")
            return limit
        return value
    return found


def _jobs_capped(value: int, key: _Key) -> int:
    cpus = os.cpu_count() or 1
    if value > cpus:
        key.warn(f"{value} capped at {cpus} (the CPU count) for a config found in the site "
                 "(-j or --config can set more)")
        return cpus
    return value


def _safe_only_on(value: bool, key: _Key) -> bool:
    if not value and key.origin.safe:
        raise _Ignored("a config found in the site can turn --safe on, never off")
    return value


def _refused(why: str) -> Step:
    def found(value: Any, key: _Key) -> NoReturn:
        raise _Ignored(why)
    return found


# --- load: read what a value names


def _read_macros(path: Path, key: _Key) -> str:
    try:
        if not path.is_file():
            raise OSError("not a file")
        return file_text(path)  # keeps the file and line of each definition
    except (OSError, UnicodeDecodeError, MacroError) as exc:
        key.refuse(f"cannot read {path}: {exc}")


def _read_text(path: Path, key: _Key) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        key.refuse(f"cannot read {path}: {exc}")


def _parse_step(s: Setting) -> Step:
    """How a config value of ``s``'s kind is read."""
    if s.kind == "choice":
        return _choice(*s.choices)
    if s.kind in ("seconds", "jobs"):
        return _positive(float if s.kind == "seconds" else int)
    steps: dict[str, Step] = {"bool": _bool, "dollar": _dollar, "count": _count,
                              "file": _path, "outfile": _path, "paths": _paths,
                              "mapping": _mapping, "variables": _variables,
                              "codes": _codes, "style": _style}
    return steps[s.kind]


def _codes(value: Any, key: _Key) -> tuple[str, ...]:
    """Diagnostic codes: a list, or one text of comma-separated codes; an unknown one is
    refused (a typo would silently report everything)."""
    from md2tex.diagnostic_codes import CODES

    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        key.refuse("expected a list of diagnostic codes")
    codes = tuple(i.strip() for i in items if i.strip())
    unknown = [c for c in codes if c not in CODES]
    if unknown:
        key.refuse(f"unknown diagnostic code {', '.join(unknown)} (docs/diagnostics.md)")
    return codes


#: the trust column: what a config found in the site may do with a key (SECURITY.md lists
#: these bounds); a key not here is kept as read
_FOUND: dict[str, Step] = {
    "template": _template_in_site,
    "include_in_header": _header_in_site,
    "timeout": _capped(MAX_FOUND_TIMEOUT),
    "macros": _inside_site,
    "resource_path": _inside_site,
    "variables": _plain,
    "safe": _safe_only_on,
    "jobs": _jobs_capped,
    "report": _refused("honoured only from --report or --config (the report quotes post text)"),
    # kept: a snippet runs in Jinja's sandbox with bounded output (markdown/includes.py) and
    # writes Markdown, which goes through the same rules as the post's own text
    "includes": _keep,
}
#: what a value names, read once it is allowed
_LOAD: dict[str, Step] = {"macros": _read_macros, "include_in_header": _read_text}

#: every key a config may set and how it is read
RULES: dict[str, Rule] = {
    s.name: Rule(s.section, _parse_step(s), _FOUND.get(s.name, _keep), _LOAD.get(s.name, _keep))
    for s in SETTINGS if s.config}
# a trust rule for a key that is not a setting would be silently unused, and a key naming
# files with no trust rule would let a found config reach outside the site: both are bugs
_UNBOUND = (set(_FOUND) | set(_LOAD)) - set(RULES) | {
    s.name for s in SETTINGS
    if s.config and s.kind in ("file", "outfile", "paths") and s.name not in _FOUND}
if _UNBOUND:
    raise AssertionError(f"config trust rules out of step with the schema: {sorted(_UNBOUND)}")
#: keys that become Options fields, and keys for the batch run itself
OPTION_KEYS = tuple(k for k, rule in RULES.items() if rule.section == "options")
BATCH_KEYS = tuple(k for k, rule in RULES.items() if rule.section == "batch")


@dataclass(frozen=True)
class SiteConfig:
    """What the config files say: ``options`` (Options field values), ``batch`` settings,
    the files read and the warnings about them."""

    options: Mapping[str, Any] = field(default_factory=dict)
    batch: Mapping[str, Any] = field(default_factory=dict)
    files: tuple[Path, ...] = ()
    warnings: tuple[str, ...] = ()
    #: the md2tex config was found in the site (input), not given as ``--config``
    found: bool = False
    #: the site root the configuration was loaded for: where a post's ``/...`` paths start
    root: Path | None = None

    def apply(self, base: Options | None = None) -> Options:
        """``base`` (default: the defaults) with the config's options applied; a config
        turns ``safe`` on, never off, and under ``safe`` a found config names no template
        (also when ``safe`` comes only from ``base``: the library's ``Options(safe=True)``)."""
        base = base or Options()
        values = dict(self.options)
        values["safe"] = bool(values.get("safe")) or base.safe
        if self.found and values["safe"] and values.get("template") is not None:
            path = self.files[-1] if self.files else CONFIG_NAME
            raise InputError(f"{path}: template: a template is raw TeX, which --safe keeps "
                             "out of a site's files (give it with --template or --config)")
        if "variables" in values:
            values["variables"] = {**base.variables, **values["variables"]}
        if base.site_root is None and self.root is not None:
            values["site_root"] = self.root
        return base.merged(values)


def _load_yaml(path: Path) -> dict[str, Any]:
    """A config file's mapping, read like front matter (it may come with the posts): at most
    ``MAX_CONFIG_BYTES``, within the limits of ``yamlload``."""
    import yaml  # only when a config file is read: its import is slow

    from md2tex.yamlload import TooMuch, load_bounded

    try:
        with path.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise InputError(f"{path}: config larger than {MAX_CONFIG_BYTES} bytes")
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read config: {exc}") from None
    try:
        data = load_bounded(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise InputError(f"{path}{where}: invalid YAML in config") from None
    except TooMuch as exc:
        raise InputError(f"{path}: config {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: a config file must be a mapping of keys to values")
    return {str(k): v for k, v in data.items()}


def parse_config(data: Mapping[str, Any], where: Path, origin: Origin | None = None,
                 ) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """Check and normalise one md2tex config mapping read from ``where`` by its ``RULES``;
    ``origin`` None means a trusted file (``--config``). Returns (options, batch settings,
    warnings); a value a found config may not have is an InputError naming file and key."""
    origin = origin or Origin(where)
    if parse_bool(data.get("safe", False)) and not origin.safe:
        origin = Origin(origin.path, origin.trusted, origin.root, safe=True)
    sections: dict[str, dict[str, Any]] = {"options": {}, "batch": {}}
    warnings: list[str] = []
    for name, value in data.items():
        rule = RULES.get(name.replace("-", "_"))
        if rule is None:
            warnings.append(f"{where}: unknown key {name!r} ignored")
            continue
        key = _Key(origin, name, warnings)
        try:
            value = rule.parse(value, key)
            if not origin.trusted:
                value = rule.found(value, key)
        except _Ignored as exc:
            warnings.append(f"{where}: {name}: {exc}; ignored")
            continue
        sections[rule.section][name.replace("-", "_")] = rule.load(value, key)
    return sections["options"], sections["batch"], warnings


def jekyll_site(path: Path) -> tuple[dict[str, Any], list[str]]:
    """``site.*`` values from a Jekyll ``_config.yml`` (unreadable: a warning, no values).
    Nothing else of it is used: it is the site's own file, input like its posts."""
    try:
        data = _load_yaml(path)
    except InputError as exc:
        return {}, [f"{exc.message}; Jekyll config ignored"]
    site = {k: data[k] for k in JEKYLL_SITE_KEYS if k in data and data[k] is not None}
    if isinstance(data.get("kramdown"), Mapping):
        site["kramdown"] = dict(data["kramdown"])
    if "markdown" in data:
        site["markdown"] = data["markdown"]
    if isinstance(data.get("scholar"), Mapping):  # jekyll-scholar's .bib (latex/citations)
        site["scholar"] = {k: str(v) for k, v in data["scholar"].items()
                           if k in ("source", "bibliography") and isinstance(v, str)}
    site.update({k: data[k] for k in mathengine.SITE_KEYS if k in data})
    return site, []


def _is_site_root(folder: Path) -> bool:
    """A Jekyll site root (``_config.yml`` or ``_posts/``) or a folder with ``md2tex.yaml``."""
    return ((folder / JEKYLL_CONFIG).is_file() or (folder / CONFIG_NAME).is_file()
            or (folder / "_posts").is_dir())


def discover(post_or_folder: Path) -> Path | None:
    """The site root of a post or folder, found as Jekyll finds its configuration: walking
    up from the folder (a post: its folder), the first one with ``_config.yml``,
    ``md2tex.yaml`` or ``_posts/``; None when a ``.git`` folder or the filesystem root comes
    first. Resolved."""
    start = post_or_folder if post_or_folder.is_dir() else post_or_folder.parent
    try:
        folder = start.resolve()
    except (OSError, RuntimeError):
        return None
    for candidate in (folder, *folder.parents):
        if _is_site_root(candidate):
            return candidate
        if (candidate / ".git").exists():
            return None
    return None


def site_root(directory: Path) -> Path:
    """The folder a found config's files must lie in: the discovered site root of
    ``directory``, else ``directory`` itself (a post: its folder); resolved."""
    found = discover(directory)
    if found is not None:
        return found
    return (directory if directory.is_dir() else directory.parent).resolve()


def load_site_config(directory: Path | None = None, config_file: Path | None = None,
                     safe: bool = False) -> SiteConfig:
    """The configuration for converting ``directory`` (a site's folder or one post): its
    site root is found by walking up (``discover``); ``config_file`` if given (trusted),
    else the root's ``md2tex.yaml`` (input: ``RULES`` bound it); plus the root's Jekyll
    ``_config.yml``. ``safe``: the command line's ``--safe``."""
    files: list[Path] = []
    warnings: list[str] = []
    site: dict[str, Any] = {}
    jekyll_root = None if directory is None else discover(directory)
    root = None if directory is None else site_root(directory)
    if jekyll_root is not None and (jekyll_root / JEKYLL_CONFIG).is_file():
        jekyll, found = jekyll_site(jekyll_root / JEKYLL_CONFIG)
        site.update(jekyll)
        warnings += found
        files.append(jekyll_root / JEKYLL_CONFIG)
    origin: Origin | None = None
    if config_file is not None:
        origin = Origin(config_file, trusted=True, root=root, safe=safe)
    elif jekyll_root is not None and (jekyll_root / CONFIG_NAME).is_file():
        origin = Origin(jekyll_root / CONFIG_NAME, trusted=False, root=root, safe=safe)
    options: dict[str, Any] = {}
    batch: dict[str, Any] = {}
    if origin is not None:
        options, batch, found = parse_config(_load_yaml(origin.path), origin.path, origin)
        warnings += found
        files.append(origin.path)
    # the math engine and numbering the site's _config.yml implies; the md2tex config wins
    options = {**mathengine.site_math_settings(site), **options}
    if site or "site" in options:
        options["site"] = {**site, **options.get("site", {})}
    for message in warnings:
        log.debug("%s", message)
    from_site = origin is not None and not origin.trusted
    return SiteConfig(options, batch, tuple(files), tuple(warnings), from_site, root)
