"""Front matter to the values a template shows: title, authors, a readable date, keywords."""

from __future__ import annotations

import datetime as dt
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
                    pdf: Callable[[str], str]) -> dict[str, Any]:
    """Everything from the front matter a template may show, escaped as prose."""
    title = str(meta.get("title") or "")
    names = authors(meta.get("author", meta.get("authors")))
    date = readable_date(meta["date"]) if meta.get("date") else ""
    keywords = as_list(meta.get("tags")) + as_list(meta.get("categories"))
    if "category" in meta:
        keywords += as_list(meta.get("category"))
    abstract = meta.get("description") or meta.get("excerpt") or ""
    return {
        "title": escape(title),
        "subtitle": escape(str(meta.get("subtitle") or "")),
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
