"""Markdown text to Document: source, Liquid, parse, render, template. Pure: no disk, no TeX."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from . import __version__
from .diagnostics import Diagnostic, InputError, Severity
from .document import Document
from .escape import CJK_RE, escape_text, pdf_string
from .highlight import style_definitions
from .images import ImageResolver
from .liquid import LiquidContext, render_liquid
from .meta import template_values
from .options import Options
from .parse import parse_markdown
from .render import render_body
from .source import decode, load_post
from .template import render_template

_USES_REFERENCES = re.compile(r"\\(?:label|eqref|ref)\s*\{")


def convert(text: str, options: Options | None = None, path: str = "<string>") -> Document:
    """Convert a post's text to a LaTeX Document. Raises InputError for unreadable input
    (bad front matter); problems inside the post are diagnostics on the Document."""
    options = options or Options()
    post = load_post(text, path)
    options = options.with_front_matter(post.meta)
    liquid = render_liquid(post.body, LiquidContext(site=options.site, page=post.meta),
                           post.body_line)
    body = liquid.text
    numbered = options.equation_numbers == "all" or (
        options.equation_numbers == "auto" and _USES_REFERENCES.search(body) is not None)
    tokens, _env = parse_markdown(body, post.body_line, options.dollar_math)
    unicode = options.engine != "pdflatex"
    images = ImageResolver(options.base_dir, options.resource_path)
    rendered = render_body(tokens, path=path, unicode=unicode, numbered=numbered,
                           images=images)

    def esc(s: str) -> str:
        return escape_text(s, unicode)

    values = template_values(post.meta, esc, pdf_string)
    features = set(rendered.features)
    if numbered:
        features.add("references")
    cjk = unicode and bool(CJK_RE.search(text))
    values.update(
        body=rendered.body,
        engine=options.engine,
        features={f: True for f in features},
        math_packages=sorted(p for p in rendered.packages if p not in ("amsmath", "amssymb")),
        pygments_styles=style_definitions() if "code" in features else "",
        macros=options.macros.strip(),
        var=dict(options.variables),
        version=__version__,
        cjk=cjk,
        cjk_font=options.variables.get("cjk_font", "FandolSong-Regular"),
    )
    tex = render_template(values, options.template)
    diagnostics: list[Diagnostic] = [*post.diagnostics, *liquid.diagnostics,
                                     *rendered.diagnostics]
    diagnostics = [d.with_path(path) for d in diagnostics]
    if options.strict:
        diagnostics = [replace(d, severity=Severity.ERROR) if d.severity is Severity.WARNING
                       else d for d in diagnostics]
    return Document(
        tex=tex,
        meta=post.meta,
        features=frozenset(features),
        diagnostics=tuple(sorted(diagnostics, key=lambda d: (d.line or 0, d.column or 0))),
        resources=dict(rendered.resources),
        options=options,
        path=path,
        engine=options.engine,
        title=str(post.meta.get("title") or ""),
    )


def read_post(path: Path, lenient: bool = False) -> str:
    """A post file's text; undecodable bytes are an InputError naming the file and line."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return decode(data, str(path), lenient)


def convert_file(path: str | Path, options: Options | None = None) -> Document:
    """Convert a post file; its folder is where relative images are looked up."""
    path = Path(path)
    options = options or Options()
    if options.base_dir is None:
        options = replace(options, base_dir=path.resolve().parent)
    return convert(read_post(path, options.lenient), options, str(path))
