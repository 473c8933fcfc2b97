"""Filling the LaTeX template: the user's file if given, else md2tex's own.

Our own template inserts the body, the title, subtitle, author, date, abstract and PDF
metadata as they are (or tests whether they are empty). So the rest of its output depends
only on the other values, and is remembered (in the ``Memo`` the caller gives) as a
*skeleton*, with a marker where each of those texts goes: a rebuild, or a new post of a site
whose options and features are those of a post built before, fills the markers in and never
imports Jinja (~30 ms). A skeleton is stored only after filling it in gave exactly Jinja's
output for the post it was made with. Without a memo, Jinja renders every time."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from md2tex.memo import Memo, library_id, name_for
from md2tex.options import DEFAULT_TEMPLATE
from md2tex.optionschema import parse_bool

#: the texts our template only inserts or tests: top-level values, then ``pdf.*`` ones
_TEXTS = ("body", "title", "subtitle", "author", "date", "abstract")
_PDF_TEXTS = ("title", "author", "subject", "keywords")
_MARKER = re.compile("\0md2tex-[a-z.]+\0")
#: a ``((( ... )))`` or ``((* ... *))`` expression of a template
_EXPRESSION = re.compile(rb"\(\([(*]((?:(?![*)]\)\)).)*)", re.S)
#: a name in an expression (not an attribute: ``pdf.title`` names ``pdf``)
_NAME = re.compile(rb"(?<![.\w])[A-Za-z_]\w*")


def render_template(values: Mapping[str, Any], template: Path | None = None,
                    memo: Memo | None = None) -> str:
    """Fill the template (the user's file if given, else ours) with the document's values.
    A broken user template is an InputError naming the template file and line."""
    found = _skeleton(values) if template is None and memo is not None else None
    if found is not None:
        name, marked, texts = found
        assert memo is not None
        skeleton = memo.get("template", name)
        if isinstance(skeleton, str) and skeleton.count(_marker("body")) == 1:
            return _fill(skeleton, texts)
    from md2tex.latex.jinjaenv import render

    tex = render(values, template, memo)
    if found is not None and memo is not None:
        skeleton = render(marked, template, memo)
        if skeleton.count(_marker("body")) == 1 and _fill(skeleton, texts) == tex:
            memo.put("template", name, skeleton)
    return tex


def _marker(name: str) -> str:
    return f"\0md2tex-{name}\0"


def _fill(skeleton: str, texts: Mapping[str, str]) -> str:
    return _MARKER.sub(lambda m: texts[m.group(0)], skeleton)


def _skeleton(values: Mapping[str, Any]) -> tuple[str, dict[str, Any], dict[str, str]] | None:
    """(the skeleton's memo name, the values with markers in place of the texts, marker ->
    text), or None when the values do not allow a skeleton."""
    pdf = values.get("pdf")
    if not isinstance(pdf, Mapping):
        return None
    marked = dict(values)
    marked_pdf = dict(pdf)
    texts: dict[str, str] = {}
    for where, keys, prefix in ((marked, _TEXTS, ""), (marked_pdf, _PDF_TEXTS, "pdf.")):
        for key in keys:
            text = where.get(key)
            if not isinstance(text, str) or "\0" in text:
                return None
            if text:  # an empty one stays empty: the template may test it
                marker = _marker(prefix + key)
                texts[marker] = text
                where[key] = marker
    marked["pdf"] = marked_pdf
    if _marker("body") not in texts:
        return None
    try:
        source = _builtin_source()
        names = _names(source)  # values the template never reads do not matter (``page``)
        key = json.dumps({k: v for k, v in marked.items() if k.encode() in names},
                         sort_keys=True, ensure_ascii=False, default=_repr)
    except (TypeError, ValueError, OSError):
        return None
    name = name_for("jinja2", "md2tex.latex.template", "template",
                    library_id("md2tex.latex.jinjaenv") or "",
                    hashlib.sha256(source).hexdigest(), key)
    return None if name is None else (name, marked, texts)


@lru_cache(maxsize=4)
def _names(source: bytes) -> frozenset[bytes]:
    return frozenset(name for expression in _EXPRESSION.findall(source)
                     for name in _NAME.findall(expression))


def _repr(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}:{value!r}"


def _builtin_source() -> bytes:
    import importlib.util

    spec = importlib.util.find_spec("md2tex.templates")
    if spec is None or not spec.submodule_search_locations:
        raise OSError("md2tex.templates not found")
    return (Path(next(iter(spec.submodule_search_locations))) / DEFAULT_TEMPLATE).read_bytes()


def template_source_hash(template: Path | None) -> str:
    """Identifies the template's text, for batch caching."""
    data = template.read_bytes() if template is not None else _builtin_source()
    return hashlib.sha256(data).hexdigest()[:16]


def default_template_text() -> str:
    """md2tex's own template, as ``md2tex template`` prints it (a starting point for
    ``--template``)."""
    return _builtin_source().decode("utf-8")


#: ``-V lang`` (BCP 47, as pandoc takes it) -> babel's language, for hyphenation; a
#: language not here only names the PDF's language
BABEL_LANGUAGES: Mapping[str, str] = {
    "en": "english", "en-us": "american", "en-gb": "british", "en-ca": "canadian",
    "en-au": "australian", "en-nz": "newzealand", "de": "ngerman", "de-de": "ngerman",
    "de-at": "naustrian", "de-ch": "nswissgerman", "fr": "french", "fr-fr": "french",
    "fr-ca": "canadien", "es": "spanish", "it": "italian", "pt": "portuguese",
    "pt-br": "brazilian", "nl": "dutch", "sv": "swedish", "da": "danish", "nb": "norsk",
    "nn": "nynorsk", "fi": "finnish", "pl": "polish", "cs": "czech", "sk": "slovak",
    "ru": "russian", "uk": "ukrainian", "el": "greek", "tr": "turkish", "hu": "magyar",
    "ro": "romanian", "hr": "croatian", "sl": "slovene", "ca": "catalan", "id": "indonesian",
}


def babel_name(lang: Any) -> str:
    """babel's name for a BCP 47 tag (``en-GB`` -> ``british``), or "" for one it lacks."""
    if not lang:
        return ""
    tag = str(lang).strip().lower().replace("_", "-")
    return BABEL_LANGUAGES.get(tag) or BABEL_LANGUAGES.get(tag.split("-")[0], "")


def _yes(value: Any, default: bool) -> bool:
    found = None if value is None else parse_bool(value)
    return default if found is None else found


def variable_values(variables: Mapping[str, str], number_sections: bool) -> dict[str, Any]:
    """What the template makes of the ``-V`` variables it reads as yes/no or as a language:
    ``number_sections`` (``-V numbersections`` over ``-N``), ``colorlinks``, ``babel``."""
    return {"number_sections": _yes(variables.get("numbersections"), number_sections),
            "colorlinks": _yes(variables.get("colorlinks"), True),
            "babel": babel_name(variables.get("lang", ""))}


#: the ``-V`` variables md2tex's template reads (pandoc's names) and what each takes
VARIABLES: Mapping[str, str] = {
    "documentclass": "the LaTeX class (default article)",
    "classoption": "class options, e.g. twocolumn or landscape",
    "geometry": "the page's margins, geometry's options (default margin=2.5cm)",
    "papersize": "a4paper (default), letterpaper, a5paper...",
    "fontsize": "10pt, 11pt (default) or 12pt",
    "mainfont": "the text font (xelatex, lualatex)",
    "sansfont": "the sans-serif font (xelatex, lualatex)",
    "monofont": "the code font (xelatex, lualatex)",
    "CJKmainfont": "the CJK font (xelatex)",
    "cjk_font": "the CJK font (xelatex), as CJKmainfont",
    "linestretch": "line spacing, e.g. 1.25",
    "lang": "the language, e.g. en-GB or de: hyphenation and the PDF's language",
    "colorlinks": "coloured links: true (default) or false",
    "numbersections": "numbered headings: true or false (default; -N)",
}
#: the font sizes LaTeX's standard classes have (other classes: any NNpt)
_STANDARD_CLASSES = frozenset({"article", "report", "book"})
_STANDARD_SIZES = ("10pt", "11pt", "12pt")
_FONT_SIZE = re.compile(r"\d{1,2}(?:\.\d)?pt")
_NUMBER = re.compile(r"\d{1,2}(?:\.\d{1,3})?")
_FONTS = ("mainfont", "sansfont", "monofont")


def variable_problems(variables: Mapping[str, str], engine: str, own_template: bool
                      ) -> tuple[list[str], list[str]]:
    """(errors, warnings) about ``-V`` values md2tex's template reads: a font size its class
    lacks, a line stretch or yes/no that is neither, fonts pdflatex cannot use, a language
    babel has no name for; with md2tex's template, a name it does not read."""
    errors: list[str] = []
    warnings: list[str] = []
    size = variables.get("fontsize")
    if size is not None:
        standard = (variables.get("documentclass") or "article") in _STANDARD_CLASSES
        if standard and size not in _STANDARD_SIZES:
            errors.append(f"fontsize {size!r}: the standard classes have "
                          f"{', '.join(_STANDARD_SIZES)}")
        elif not _FONT_SIZE.fullmatch(size):
            errors.append(f"fontsize {size!r}: expected a size in points, e.g. 11pt")
    stretch = variables.get("linestretch")
    if stretch is not None and not _NUMBER.fullmatch(stretch):
        errors.append(f"linestretch {stretch!r}: expected a number, e.g. 1.25")
    for key in ("colorlinks", "numbersections"):
        if key in variables and parse_bool(variables[key]) is None:
            errors.append(f"{key} {variables[key]!r}: expected true or false")
    fonts = [key for key in _FONTS if variables.get(key)]
    if fonts and engine == "pdflatex":
        warnings.append(f"{', '.join(fonts)}: fonts need --engine xelatex or lualatex; "
                        "pdflatex keeps Latin Modern")
    lang = variables.get("lang")
    if lang and not babel_name(lang):
        warnings.append(f"lang {lang!r}: no hyphenation patterns md2tex knows; only the "
                        "PDF's language is set")
    if own_template:
        unknown = sorted(set(variables) - set(VARIABLES))
        if unknown:
            warnings.append(f"-V {', '.join(unknown)}: not a variable of md2tex's template "
                            f"(it reads {', '.join(VARIABLES)})")
    return errors, warnings
