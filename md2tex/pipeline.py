"""Markdown text to Document: source, Liquid, parse, render, template. Pure (no disk, no
TeX) except for the rare formula only TeX can judge: mathprobe.py asks TeX about it. What
the steps share is handed to them: one ``Budget`` (the time and size limits) and the
caller's ``Memo``, if any (None: no cache is read or written; an SVG or GIF image is
converted into a temporary folder of this process)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from md2tex import scripts, texengine
from md2tex.budget import Budget
from md2tex.diagnostics import Diagnostic, InputError, error, note
from md2tex.document import Document, locate_formulas
from md2tex.escape import escape_text, pdf_string
from md2tex.latex.highlight import style_definitions
from md2tex.latex.images import ImageResolver
from md2tex.latex.meta import template_values
from md2tex.latex.render import render_body
from md2tex.latex.template import render_template, variable_values
from md2tex.markdown.kramdown import flavour_of
from md2tex.markdown.parse import parse_markdown
from md2tex.markdown.source import Post, decode, load_post
from md2tex.math import sitemacros
from md2tex.math import table as mathtable
from md2tex.math.safe import SafeMacros, Unsafe, load_site_macros
from md2tex.memo import Memo
from md2tex.options import Options, check_variables, options_from_front_matter
from md2tex.tex import packages
from md2tex.tex import probe as mathprobe
from md2tex.tex.svg import svg_to_pdf
from md2tex.version import __version__

if TYPE_CHECKING:
    from md2tex.markdown.liquid import LiquidResult

_USES_REFERENCES = re.compile(r"\\(?:label|eqref|ref)\s*\{")


def convert(text: str, options: Options | None = None, path: str = "<string>", *,
            memo: Memo | None = None, check: bool = False,
            base_dir: str | Path | None = None) -> Document:
    """Convert a post's text to a LaTeX Document. Raises InputError for unreadable input
    (bad front matter) or a conversion over its budget (``--timeout``: budget.py); problems
    inside the post are diagnostics on the Document. ``memo``: where the results of earlier
    conversions are remembered (``Memo.for_user()``, as the CLI does); None, nothing is.
    ``check`` (``md2tex check``): the diagnostics only: code blocks are scanned, not
    highlighted (the .tex has none), and with TeX installed every formula is typeset in the
    probe run, so every formula the build would reject is reported. ``base_dir``: the
    folder the post's images and includes are looked up in (as for ``convert_file``);
    default ``Options.base_dir``, else the folder of ``path`` (when that folder exists: the
    post itself need not be on disk)."""
    options = options or Options()
    if base_dir is not None:
        options = replace(options, base_dir=Path(base_dir).resolve())
    elif options.base_dir is None and path != "<string>" and Path(path).parent.is_dir():
        options = replace(options, base_dir=Path(path).resolve().parent)
    limits = Budget(options.timeout, path, len(text))
    return _convert(text, options, path, limits, memo, check)


def _convert(text: str, options: Options, path: str, limits: Budget, memo: Memo | None,
             check: bool) -> Document:
    post = load_post(text, path, memo)
    options = options.with_front_matter(post.meta)
    check_variables(options, path)
    auto_notes: list[Diagnostic] = []
    script_plan = scripts.plan(text.lstrip("\ufeff"))  # a BOM is no character of the post
    if (not texengine.engine(options.engine).unicode and script_plan.needs != scripts.ANY
            and "engine" not in options.cli_keys
            and "engine" not in options_from_front_matter(post.meta)):
        # pdflatex has no fonts for CJK, Cyrillic, symbols or emoji: xelatex (+ xeCJK) has
        options = replace(options, engine=texengine.UNICODE_DEFAULT)
        auto_notes.append(_engine_note(script_plan))
    auto_notes += scripts.engine_diagnostics(script_plan, options.engine, path)
    liquid = _liquid(post, options, limits, path)
    body = liquid.text if liquid else post.body
    numbered = options.equation_numbers in ("ams", "all") or (
        options.equation_numbers == "auto" and _USES_REFERENCES.search(body) is not None)
    flavour = flavour_of(options.site)
    tokens, _env = parse_markdown(body, post.body_line, options.dollar_math,
                                  options.math_engine, liquid.dollar_lines if liquid else (),
                                  budget=limits,
                                  flavour=flavour)
    unicode = texengine.engine(options.engine).unicode
    images = ImageResolver(options.base_dir, options.resource_path, site_root=options.site_root,
                           svg_to_pdf=svg_to_pdf, memo=memo,
                           download=not (options.offline or options.safe))
    safe_macros = SafeMacros()
    site_macros = sitemacros.site_text(options.macros).strip()  # mappings as \newcommand
    if options.safe and site_macros:
        try:
            load_site_macros(site_macros, safe_macros)
        except Unsafe as exc:
            raise InputError("unsafe site macros", [error(
                "unsafe-macros", f"--safe: site macros: {exc.message}", path=path)]) from None
        site_macros = ""  # expanded into each formula by safe.py, never given to TeX
    user_macros = sitemacros.collect(site_macros, {} if options.safe else post.meta, body,
                                     path)
    rendered = render_body(tokens, path=path, unicode=unicode, numbered=numbered,
                           images=images, safe=options.safe, safe_macros=safe_macros,
                           macros=user_macros.known, dollar_math=options.dollar_math,
                           site_url=_site_url(options),
                           math_engine=mathtable.engine_of(options),
                           number_all=options.equation_numbers == "all",
                           package_installed=packages.installed, budget=limits, memo=memo,
                           highlight_code=not check, flavour=flavour)
    if "\\mdcite" in rendered.body or "\\mdbibliography" in rendered.body:
        from md2tex.latex import citations  # only a post that cites needs it

        rendered = citations.resolve(rendered, post.meta, options.site, images, unicode, path)
    site_macros = sitemacros.preamble([*user_macros.definitions, *rendered.definitions],
                                      rendered.max_matrix_cols)

    def esc(s: str) -> str:
        return escape_text(s, unicode)

    def pdf_text(s: str) -> str:
        return pdf_string(s, unicode)

    def field_math(raw: str) -> str | None:
        """A formula in the title or description, as the page's math engine shows it (text
        when it cannot be typeset, and under --safe)."""
        if options.safe:
            return None
        from md2tex.math.check import prepare  # loaded by the renderer's math already

        res = prepare(raw, display=False, unicode=unicode, macros=user_macros.known,
                      engine=mathtable.engine_of(options), package_installed=packages.installed)
        return f"${res.latex}$" if res.ok and "\n" not in res.latex else None

    values = template_values({**post.meta, **options.metadata}, esc, pdf_text, path,
                             options.site, math=field_math,
                             dollar=bool(options.dollar_math))  # -M / --metadata-file win
    features = set(rendered.features)
    if numbered:
        features.add("references")
    if options.toc:  # --toc: the contents need a second TeX run, as {:toc}'s do
        features.add("toc")
    # xeCJK sets CJK text and gives symbols and emoji their font in every text font
    cjk = texengine.engine(options.engine).cjk == "xecjk" and script_plan.needs != scripts.ANY \
        and script_plan.names - {"latin", "greek", "cyrillic"} != set()
    values.update(
        body=rendered.body,
        engine=options.engine,
        features={f: True for f in features},
        math_packages=sorted(p for p in rendered.packages if p not in ("amsmath", "amssymb")),
        pygments_styles=style_definitions(memo, options.highlight_style, options.highlight)
        if "code" in features else "",
        toc=options.toc,
        toc_depth=options.toc_depth,
        **variable_values(options.variables, options.number_sections),
        header_includes=options.include_in_header,
        macros=site_macros,
        var=dict(options.variables),
        version=__version__,
        cjk=cjk,
        cjk_font=_cjk_font(options),
        xecjk_setup=scripts.xecjk_setup(script_plan, _cjk_font(options))
        if cjk else "",
        lua_fallback=scripts.lua_fallback(script_plan)
        if texengine.engine(options.engine).cjk == "fallback" else "",
    )
    tex = render_template(values, options.template, memo)
    diagnostics: list[Diagnostic] = [
        *auto_notes, *post.diagnostics, *(liquid.diagnostics if liquid else ()),
        *user_macros.diagnostics,
        *(liquid.relocated(rendered.diagnostics) if liquid else rendered.diagnostics)]
    document = Document(
        tex=tex,
        meta=post.meta,
        features=frozenset(features),
        diagnostics=(),
        resources=dict(rendered.resources),
        options=options,
        path=path,
        engine=options.engine,
        title=str(post.meta.get("title") or ""),
    )
    # TeX programming in a formula: TeX's verdict (a probe compile), when TeX is here;
    # otherwise its math-unverified warning stays (an error under --strict). Each formula's
    # place in the .tex is kept so a formula TeX rejects (here or in the build) can be
    # swapped for its fallback
    if rendered.formulas:
        from md2tex.math.check import fallback_latex  # loaded by the renderer's math

        document = replace(document, make_fallback=fallback_latex, formulas=locate_formulas(
            tex, [(f.latex, f.line, f.column, f.fallback) for f in rendered.formulas]))
    diagnostics, rejected = mathprobe.verify(document, rendered.formulas, diagnostics,
                                             probe_all=check)
    if rejected:  # shown as MathJax shows an error; the post is built
        document = document.with_fallbacks(rejected)
    # (a site macro file's warnings name that file)
    diagnostics = [d.with_path(path) if d.path == "<string>" else d for d in diagnostics]
    if options.strict:
        diagnostics = [d.strict() for d in diagnostics]
    return replace(document, diagnostics=tuple(
        sorted(diagnostics, key=lambda d: (d.line or 0, d.column or 0))))


def _liquid(post: Post, options: Options, limits: Budget, path: str) -> LiquidResult | None:
    """The body after Liquid, or None when it has no Liquid markup (``{%``, ``{{``): then the
    Liquid engine and the theme includes' handlers are not even loaded."""
    if "{%" not in post.body and "{{" not in post.body:
        return None
    from md2tex.markdown.liquid import LiquidContext, render_liquid

    return render_liquid(post.body, LiquidContext(site=options.site, page=post.meta,
                                                  posts=options.posts, budget=limits,
                                                  includes=options.includes, path=path),
                         post.body_line)


def _cjk_font(options: Options) -> str:
    """The CJK font the user named: ``-V CJKmainfont`` (pandoc's name) or ``cjk_font``."""
    return str(options.variables.get("CJKmainfont") or options.variables.get("cjk_font", ""))


def _engine_note(script_plan: scripts.Plan) -> Diagnostic:
    names = ", ".join([name for name, _ in script_plan.counts
                       if scripts.SCRIPTS_BY_NAME[name].needs != scripts.ANY
                       or name in script_plan.worded]
                      + [f"U+{ord(ch):04X}" for ch in script_plan.beyond_pdflatex[:5]])
    if script_plan.needs == scripts.CJK:
        return note("engine-cjk", f"the post contains CJK text (scripts: {names}): built "
                    "with xelatex and xeCJK (choose an engine with --engine to override)")
    return note("engine-scripts", f"the post contains {names}, which pdflatex has no font "
                "for: built with xelatex (choose an engine with --engine to override)")


def _site_url(options: Options) -> str:
    """``site.url`` + ``site.baseurl`` when the site's address is known (an http(s) URL)."""
    url = str(options.site.get("url") or "").strip()
    if not url.startswith(("http://", "https://")):
        return ""
    return url.rstrip("/") + "/" + str(options.site.get("baseurl") or "").strip("/")


def read_post(path: Path, lenient: bool = False) -> str:
    """A post file's text; undecodable bytes are an InputError naming the file and line."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return decode(data, str(path), lenient)


def convert_file(path: str | Path, options: Options | None = None, *,
                 memo: Memo | None = None) -> Document:
    """Convert a post file; its folder is where relative images are looked up. ``memo``:
    as for ``convert``."""
    path = Path(path)
    options = options or Options()
    if options.base_dir is None:
        options = replace(options, base_dir=path.resolve().parent)
    return convert(read_post(path, options.lenient), options, str(path), memo=memo)
