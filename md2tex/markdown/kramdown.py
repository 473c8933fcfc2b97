"""kramdown's attribute lists (``{: …}``, ``{:toc}``, ``{::options …/}``) in mistune tokens.

kramdown consumes them; mistune sees them as text. They are removed here before rendering: an
IAL right after an image gives it a width (``style="width: 80%"``, ``width="50%"``, pixels),
``{:toc}`` asks for a table of contents, everything else is dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

Token = dict[str, Any]

IAL = re.compile(r"\{:(?![:/])(?P<body>[^{}\n]*)\}|\{::[^{}\n]*\}|\{:/[^{}\n]*\}")
_ATTR = re.compile(r"""(?P<key>[\w-]+)\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>\S+))""")
_WIDTH = re.compile(r"(?:^|;)\s*(?:max-)?width\s*:\s*(?P<w>[\d.]+\s*(?:%|px|em|rem|pt)?)",
                    re.I)
#: a blog's content column, for pixel widths
COLUMN_PX = 700.0


def attributes(body: str) -> dict[str, str]:
    """``.cls #id key="value" toc`` -> {"class": "cls", "id": "id", "key": "value",
    "toc": ""}."""
    out: dict[str, str] = {}
    for m in _ATTR.finditer(body):
        out[m["key"].lower()] = m["dq"] if m["dq"] is not None else (
            m["sq"] if m["sq"] is not None else m["bare"])
    rest = _ATTR.sub(" ", body)
    for word in rest.split():
        if word.startswith("."):
            out["class"] = (out.get("class", "") + " " + word[1:]).strip()
        elif word.startswith("#"):
            out["id"] = word[1:]
        else:
            out[word.lower()] = ""
    return out


def width_fraction(value: str | None) -> float | None:
    """A CSS or HTML width as a fraction of the text width: ``80%`` -> 0.8, ``350px`` /
    ``350`` -> 0.5 (of a 700 px column); None when there is none or it makes no sense."""
    if not value:
        return None
    m = re.fullmatch(r"\s*([\d.]+)\s*(%|px|em|rem|pt)?\s*;?\s*", value)
    if not m:
        return None
    try:
        number = float(m[1])
    except ValueError:
        return None
    unit = m[2] or "px"
    frac = {"%": number / 100, "px": number / COLUMN_PX, "em": number * 16 / COLUMN_PX,
            "rem": number * 16 / COLUMN_PX, "pt": number * 4 / 3 / COLUMN_PX}[unit]
    if frac <= 0:
        return None
    return round(min(frac, 1.0), 3)


def width_from_attrs(attrs: dict[str, str]) -> float | None:
    """Width hint from ``width=…`` or ``style="width: …"``."""
    style = attrs.get("style", "")
    m = _WIDTH.search(style)
    if m:
        return width_fraction(m["w"])
    return width_fraction(attrs.get("width"))


def _meaningful(tok: Token) -> bool:
    return tok["type"] != "softbreak" and not (tok["type"] == "text"
                                               and not tok.get("raw", "").strip())


def strip_ials(children: Sequence[Token]) -> tuple[list[Token], bool]:
    """Inline children without attribute lists; True if one of them was ``{:toc}``.

    An IAL that follows an image (directly, or on the next line) sets its ``width_hint``.
    A line left empty is removed with its line break.
    """
    if not any(t["type"] == "text" and "{:" in t.get("raw", "") for t in children):
        return list(children), False
    toc = False
    out: list[Token] = []
    for tok in children:
        raw = tok.get("raw", "")
        if tok["type"] != "text" or "{:" not in raw:
            out.append(tok)
            continue
        pieces: list[str] = []
        pos = 0
        for m in IAL.finditer(raw):
            pieces.append(raw[pos : m.start()])
            pos = m.end()
            body = m["body"]
            if body is None:
                continue
            attrs = attributes(body)
            if "toc" in attrs:
                toc = True
            before = "".join(pieces)
            if not before.strip():
                image = next((t for t in reversed(out) if _meaningful(t)), None)
                if image is not None and image["type"] == "image":
                    width = width_from_attrs(attrs)
                    if width is not None:
                        image.setdefault("attrs", {})["width_hint"] = width
        pieces.append(raw[pos:])
        text = "".join(pieces)
        if text.strip():
            out.append({**tok, "raw": text})
        else:
            while out and out[-1]["type"] == "softbreak":
                out.pop()
            if text:
                out.append({**tok, "raw": text})
    while out and not _meaningful(out[-1]):
        out.pop()
    while out and out[0]["type"] == "softbreak":
        out.pop(0)
    return out, toc


def is_toc_list(tok: Token) -> bool:
    """kramdown's ``* TOC`` + ``{:toc}``: a one-item list whose text ends with the marker."""
    items = tok.get("children", [])
    if len(items) != 1:
        return False
    blocks = items[0].get("children", [])
    if len(blocks) != 1 or blocks[0]["type"] not in ("block_text", "paragraph"):
        return False
    return any(c["type"] == "text" and re.search(r"\{:\s*toc\s*\}", c.get("raw", ""))
               for c in blocks[0].get("children", []))
