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
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .diagnostics import InputError
from .options import ENGINES, Options

log = logging.getLogger(__name__)

CONFIG_NAME = "md2tex.yaml"
JEKYLL_CONFIG = "_config.yml"
#: keys that become Options fields
OPTION_KEYS = ("engine", "template", "timeout", "lenient", "strict", "dollar_math",
               "equation_numbers", "macros", "resource_path", "variables", "site",
               "format_cache", "keep_tex", "safe", "probe_math")
#: keys for the batch run itself
BATCH_KEYS = ("to", "jobs", "fail_fast", "force", "report", "verbose", "quiet")
JEKYLL_SITE_KEYS = ("url", "baseurl", "title", "author", "description", "email", "lang")
_BOOL_KEYS = ("lenient", "strict", "dollar_math", "format_cache", "keep_tex", "safe", "probe_math",
              "fail_fast", "force", "quiet")


@dataclass(frozen=True)
class SiteConfig:
    """What the config files say: ``options`` (Options field values), ``batch`` settings,
    the files read and the warnings about them."""

    options: Mapping[str, Any] = field(default_factory=dict)
    batch: Mapping[str, Any] = field(default_factory=dict)
    files: tuple[Path, ...] = ()
    warnings: tuple[str, ...] = ()

    def apply(self, base: Options | None = None) -> Options:
        """``base`` (default: the defaults) with the config's options applied."""
        base = base or Options()
        values = dict(self.options)
        if "variables" in values:
            values["variables"] = {**base.variables, **values["variables"]}
        return base.merged(values)


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read config: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise InputError(f"{path}{where}: invalid YAML in config") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: a config file must be a mapping of keys to values")
    return {str(k): v for k, v in data.items()}


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "1")
    return bool(value)


def parse_config(data: Mapping[str, Any], where: Path) -> tuple[dict[str, Any],
                                                                  dict[str, Any], list[str]]:
    """Check and normalise one md2tex config mapping; ``where`` is its file (for paths and
    messages). Returns (options, batch settings, warnings)."""
    base = where.parent
    options: dict[str, Any] = {}
    batch: dict[str, Any] = {}
    warnings: list[str] = []

    def bad(key: str, why: str) -> None:
        warnings.append(f"{where}: {key}: {why}; ignored")

    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in OPTION_KEYS and name not in BATCH_KEYS:
            warnings.append(f"{where}: unknown key {key!r} ignored")
            continue
        if name in _BOOL_KEYS:
            value = _as_bool(value)
        if name == "engine" and value not in ENGINES:
            bad(key, f"expected one of {', '.join(ENGINES)}")
            continue
        if name in ("timeout", "jobs"):
            try:
                value = float(value) if name == "timeout" else int(value)
            except (TypeError, ValueError):
                bad(key, "expected a number")
                continue
        if name == "template":
            value = (base / str(value)).resolve()
        elif name == "macros":
            path = (base / str(value))
            try:
                value = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(f"{where}: macros: cannot read {path}: {exc}") from None
        elif name == "resource_path":
            items = [value] if isinstance(value, str) else value
            if not isinstance(items, list):
                bad(key, "expected a list of folders")
                continue
            value = tuple((base / str(item)).resolve() for item in items)
        elif name in ("variables", "site"):
            if not isinstance(value, Mapping):
                bad(key, "expected a mapping")
                continue
            value = {str(k): (str(v) if name == "variables" else v) for k, v in value.items()}
        elif name == "report":
            value = (base / str(value)).resolve()
        elif name == "to" and value not in ("pdf", "tex"):
            bad(key, "expected pdf or tex")
            continue
        (options if name in OPTION_KEYS else batch)[name] = value
    return options, batch, warnings


def jekyll_site(path: Path) -> tuple[dict[str, Any], list[str]]:
    """``site.*`` values from a Jekyll ``_config.yml`` (unreadable: a warning, no values)."""
    try:
        data = _load_yaml(path)
    except InputError as exc:
        return {}, [f"{exc.message}; Jekyll config ignored"]
    site = {k: data[k] for k in JEKYLL_SITE_KEYS if k in data and data[k] is not None}
    if isinstance(data.get("kramdown"), Mapping):
        site["kramdown"] = dict(data["kramdown"])
    if "markdown" in data:
        site["markdown"] = data["markdown"]
    return site, []


def find_site_root(directory: Path) -> Path | None:
    """``directory`` if it is a Jekyll site root (has ``_config.yml`` or ``_posts/``)."""
    if (directory / JEKYLL_CONFIG).is_file() or (directory / "_posts").is_dir():
        return directory
    if directory.name == "_posts" and (directory.parent / JEKYLL_CONFIG).is_file():
        return directory.parent
    return None


def load_site_config(directory: Path | None = None, config_file: Path | None = None) -> SiteConfig:
    """The configuration for converting ``directory``: ``config_file`` if given, else
    ``md2tex.yaml`` in ``directory``; plus the Jekyll ``_config.yml`` of its site root."""
    files: list[Path] = []
    warnings: list[str] = []
    site: dict[str, Any] = {}
    if directory is not None:
        root = find_site_root(directory)
        if root is not None and (root / JEKYLL_CONFIG).is_file():
            jekyll, found = jekyll_site(root / JEKYLL_CONFIG)
            site.update(jekyll)
            warnings += found
            files.append(root / JEKYLL_CONFIG)
    if config_file is None and directory is not None and (directory / CONFIG_NAME).is_file():
        config_file = directory / CONFIG_NAME
    options: dict[str, Any] = {}
    batch: dict[str, Any] = {}
    if config_file is not None:
        options, batch, found = parse_config(_load_yaml(config_file), config_file)
        warnings += found
        files.append(config_file)
    if site or "site" in options:
        options["site"] = {**site, **options.get("site", {})}
    for message in warnings:
        log.debug("%s", message)
    return SiteConfig(options, batch, tuple(files), tuple(warnings))

