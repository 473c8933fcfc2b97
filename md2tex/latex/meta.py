"""Front matter to the values a template shows: title, authors, a readable date, keywords."""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from collections.abc import Callable, Mapping
from typing import Any

from md2tex.escape import decode_references
from md2tex.latex.html import WRAPPERS

_DATE_RE = re.compile(
    r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?\s*$"
)


#: the most characters of the description kept for the PDF's Subject
SUBJECT_CHARS = 500
#: a Jekyll post's file name starts with its date (``2018-06-19-title.md``)
_FILE_DATE = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2})-")
#: the inline HTML themes' front matter text uses; other ``<words>`` are text
_TAG = re.compile(r"<(?P<close>/)?(?P<tag>a|abbr|b|br|cite|code|del|em|font|i|ins|kbd|mark|q|s|"
                  r"small|span|strong|sub|sup|u)(?:\s[^<>]{0,500})?/?>", re.I)


def plain_text(value: Any) -> str:
    """A front-matter value without its HTML tags (for PDF strings, which decode the
    character references themselves)."""
    text = str(value)
    return _TAG.sub("", text) if "<" in text else text


#: a formula in a front-matter field: ``$$..$$``, ``$..$`` (where the site's ``$`` is
#: math) or ``\\(..\\)``: MathJax typesets the page's title and description too
_FIELD_MATH = re.compile(r"\$\$(?P<dd>[^$]+?)\$\$|\$(?P<d>[^$\s](?:[^$]*?[^$\s])?)\$"
                         r"|\\\((?P<p>.+?)\\\)")
#: what turns a formula into LaTeX (None: it cannot be typeset, so it stays text)
MathTypesetter = Callable[[str], "str | None"]


def _with_math(text: str, escape: Callable[[str], str], math: MathTypesetter | None,
               dollar: bool) -> str:
    """Prose with its formulas typeset by ``math``, the rest escaped."""
    if math is None or ("$" not in text and "\\(" not in text):
        return escape(text)
    out: list[str] = []
    pos = 0
    for m in _FIELD_MATH.finditer(text):
        raw = m["p"] if m["p"] is not None else (m["dd"] if dollar and m["dd"] else
                                                    m["d"] if dollar else None)
        latex = math(raw) if raw else None
        if latex is None:
            continue
        out.append(escape(text[pos:m.start()]))
        out.append(latex)
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def typeset(value: Any, escape: Callable[[str], str], math: MathTypesetter | None = None,
            dollar: bool = True) -> str:
    """A front-matter value as the web page shows it, as LaTeX: Jekyll themes print these
    fields as HTML, so the inline tags they hold are typeset (emphasis, bold, code; tags that
    need a package the title page cannot ask for keep only their text), character
    references decoded (``&#8217;``, ``&nbsp;``, ``&amp;``), formulas typeset by ``math``
    (``dollar``: ``$`` delimits math), the rest escaped."""
    text = str(value)
    out: list[str] = []
    open_tags: list[tuple[str, str]] = []
    pos = 0
    for m in _TAG.finditer(text) if "<" in text else ():
        out.append(_with_math(decode_references(text[pos:m.start()]), escape, math, dollar))
        pos = m.end()
        tag = m["tag"].lower()
        if m["close"]:
            while tag in (t for t, _ in open_tags):
                t, closer = open_tags.pop()
                out.append(closer)
                if t == tag:
                    break
            continue
        if tag == "br":
            out.append(" ")
            continue
        opener, closer, feature = WRAPPERS.get(tag, ("", "", ""))
        if feature or m.group(0).endswith("/>"):
            opener = closer = ""
        out.append(opener)
        open_tags.append((tag, closer))
    out.append(_with_math(decode_references(text[pos:]), escape, math, dollar))
    out.extend(closer for _, closer in reversed(open_tags))
    return "".join(out)


def file_date(path: str) -> str:
    """The date in a Jekyll post's file name, or ""."""
    m = _FILE_DATE.match(posixpath.basename(path.replace("\\", "/")))
    return m.group(1) if m else ""


def readable_date(value: Any) -> str:
    """Jekyll dates (``2018-06-19 22:19:42 +0800``, dates, datetimes) as ``19 June 2018``;
    anything else is shown as written."""
    if isinstance(value, (dt.datetime, dt.date)):
        day = value
    else:
        text = str(value).strip()
        m = _DATE_RE.match(text)
        if not m:
            return text
        try:
            day = dt.date(int(m["y"]), int(m["m"]), int(m["d"]))
        except ValueError:
            return text
    return f"{day.day} {day:%B} {day.year}"


def as_list(value: Any) -> list[str]:
    """Jekyll accepts a list or a space-separated string for tags and categories."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v is not None]
    return str(value).split()


def authors(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        value = value.get("name")
        return [str(value)] if value else []
    if isinstance(value, (list, tuple)):
        out = []
        for v in value:
            out.extend(authors(v))
        return out
    return [str(value)]


def template_values(meta: Mapping[str, Any], escape: Callable[[str], str],
                    pdf: Callable[[str], str], path: str = "",
                    site: Mapping[str, Any] | None = None, math: MathTypesetter | None = None,
                    dollar: bool = True) -> dict[str, Any]:
    """Everything from the front matter a template may show, escaped as prose, formulas in
    the title, subtitle and description typeset by ``math``. Jekyll's fallbacks apply: the
    date from the post's file name, the site's author."""
    title = meta.get("title") or ""
    names = authors(meta.get("author", meta.get("authors"))) \
        or authors((site or {}).get("author"))
    when = meta.get("date") or file_date(path)
    date = readable_date(when) if when else ""
    keywords = as_list(meta.get("tags")) + as_list(meta.get("categories"))
    if "category" in meta:
        keywords += as_list(meta.get("category"))
    abstract = str(meta.get("description") or meta.get("excerpt") or "")
    return {
        "title": typeset(title, escape, math, dollar),
        "subtitle": typeset(meta.get("subtitle") or "", escape, math, dollar),
        "author": " \\and ".join(typeset(n, escape) for n in names),
        "date": escape(date),
        "abstract": typeset(abstract, escape, math, dollar),
        "keywords": [escape(decode_references(k)) for k in keywords],
        "pdf": {
            "title": pdf(plain_text(title)),
            "author": pdf(", ".join(plain_text(n) for n in names)),
            # cut the text, not its escaped form (a cut there can split ``\{``)
            "subject": pdf(plain_text(abstract)[:SUBJECT_CHARS]),
            "keywords": pdf(", ".join(keywords)),
        },
        "page": {str(k): v for k, v in meta.items()},
    }
