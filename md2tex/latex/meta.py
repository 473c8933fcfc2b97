"""Front matter to the values a template shows: title, authors, a readable date, keywords."""

from __future__ import annotations

import datetime as dt
import html
import posixpath
import re
from collections.abc import Callable, Mapping
from typing import Any

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
_TAG = re.compile(r"</?(?:a|abbr|b|br|cite|code|del|em|font|i|ins|kbd|mark|q|s|small|span|"
                  r"strong|sub|sup|u)(?:\s[^<>]{0,500})?/?>", re.I)


def shown_text(value: Any) -> str:
    """A front-matter value as the web page shows it: HTML tags left out, character
    references decoded (``&#8217;``, ``&nbsp;``, ``&amp;``); Jekyll themes print these
    fields as HTML."""
    text = _TAG.sub("", str(value)) if "<" in str(value) else str(value)
    return html.unescape(text).replace("\xa0", " ") if "&" in text else text


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
                    site: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Everything from the front matter a template may show, escaped as prose. Jekyll's
    fallbacks apply: the date from the post's file name, the site's author."""
    title = shown_text(meta.get("title") or "")
    names = [shown_text(n) for n in authors(meta.get("author", meta.get("authors")))
             or authors((site or {}).get("author"))]
    when = meta.get("date") or file_date(path)
    date = readable_date(when) if when else ""
    keywords = as_list(meta.get("tags")) + as_list(meta.get("categories"))
    if "category" in meta:
        keywords += as_list(meta.get("category"))
    abstract = shown_text(meta.get("description") or meta.get("excerpt") or "")
    return {
        "title": escape(title),
        "subtitle": escape(shown_text(meta.get("subtitle") or "")),
        "author": " \\and ".join(escape(n) for n in names),
        "date": escape(date),
        "abstract": escape(str(abstract)),
        "keywords": [escape(k) for k in keywords],
        "pdf": {
            "title": pdf(title),
            "author": pdf(", ".join(names)),
            # cut the text, not its escaped form (a cut there can split ``\{``)
            "subject": pdf(str(abstract)[:SUBJECT_CHARS]),
            "keywords": pdf(", ".join(keywords)),
        },
        "page": {str(k): v for k, v in meta.items()},
    }
