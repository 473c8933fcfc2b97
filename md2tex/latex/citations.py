"""Citations: ``\\mdcite{a,b}`` (distill's ``<d-cite>``, jekyll-scholar's ``{% cite %}``)
become natbib's numbered ``\\citep`` of the post's .bib, and ``\\mdbibliography`` (or the end
of a post that cites) its References section, made by bibtex (``md2tex.tex.bibtex``).

The .bib is found as Jekyll finds it (front matter ``bibliography:`` in the post's folder,
then the site's ``assets/bibliography/`` and ``_bibliography/``; else the .bib named after
the post there, then jekyll-scholar's ``scholar: source/bibliography``), only inside the
folders images may come from (``images.resolve_inside``). It is parsed here, bounded, and
bibtex never sees it: the cited entries are written again, every field turned into plain
text (pylatexenc) and escaped as prose is, into a ``filecontents*`` block at the end of the
body. So a malformed or LaTeX-hostile .bib cannot break the build, and the .tex stays
complete on its own. A key that is not there, or a .bib that is missing, is a warning at
the citation's Markdown line and the key stays visible in bold as ``[key?]``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from md2tex.diagnostics import Diagnostic, warning
from md2tex.escape import escape_text, escape_url, url_scheme_allowed
from md2tex.latex.images import ImageResolver, resolve_inside
from md2tex.latex.render import RenderResult

if TYPE_CHECKING:
    from pylatexenc.latex2text import LatexNodes2Text

#: the .bib the .tex writes for bibtex (``\\bibliography{...}``) and the style that reads it
BIB_NAME = "md2tex-references"
STYLE = "unsrtnat"
#: the feature the template loads natbib for
FEATURE = "citations"
MAX_BIB_BYTES = 2 * 1024 * 1024
MAX_ENTRIES = 5000
#: one field's characters (a longer one, or an unclosed brace, makes its entry malformed)
MAX_FIELD_CHARS = 10_000
#: missing keys reported one by one; the rest are counted in the last warning
MAX_KEY_WARNINGS = 20

_CITE = re.compile(r"\\mdcite\{([^{}\\]*)\}")
_BIBLIOGRAPHY = re.compile(r"\\mdbibliography(?:\{\})?(?![A-Za-z@])")
_MARKER = re.compile(r"(?<!\\)%L(\d+)$")
#: keys that are safe in ``\\citep``, the .aux and a csname under every engine
_KEY = re.compile(r"[A-Za-z0-9_:.\-+/@!?*'()=;]{1,100}")
_NAME = re.compile(r"[^\s\"#%'(),={}@]+")
_ENTRY_KEY = re.compile(r"[^\s,{}()\"=#%]+")
_NEXT_ENTRY = re.compile(r"\n[ \t]*@")
_ENTRY_START = re.compile(r"\n[ \t]*@[A-Za-z]+[ \t]*[{(]")
_NUMBER = re.compile(r"\d+")
_BRACES_OR_QUOTE = re.compile(r"[{}\"]")
_BRACES = re.compile(r"[{}]")
_BARE_SPECIAL = re.compile(r"(?<!\\)([%&])")
_AND = re.compile(r"\s+and\s+", re.I)
_DOI = re.compile(r"10\.\d{2,9}/\S+")
_ARXIV = re.compile(r"(?:\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?")

_MONTHS = {m[:3].lower(): m for m in (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December")}
#: entry types the style knows; others are printed as ``misc``
_TYPES = {t: t for t in (
    "article", "book", "booklet", "inbook", "incollection", "inproceedings", "manual",
    "mastersthesis", "misc", "phdthesis", "proceedings", "techreport", "unpublished")} | {
    "conference": "inproceedings", "thesis": "phdthesis", "report": "techreport"}
#: fields the style prints, and how each is cleaned
_TEXT_FIELDS = ("booktitle", "journal", "year", "month", "volume", "number", "pages",
                "publisher", "address", "edition", "series", "chapter", "school",
                "institution", "organization", "howpublished", "note", "type", "key")
_NAME_FIELDS = ("author", "editor")
_PROTECTED_FIELDS = ("title",)


@dataclass(frozen=True)
class Entry:
    """One .bib entry: its type, key, raw field values (LaTeX, outer delimiters removed,
    ``@string`` macros expanded) and the line it starts on."""

    kind: str
    key: str
    fields: Mapping[str, str]
    line: int


@dataclass
class Bibliography:
    """What one or more .bib files hold: entries by key (the first of a repeated key wins),
    and the keys whose entry could not be read, with its line and why."""

    entries: dict[str, Entry] = field(default_factory=dict)
    broken: dict[str, tuple[str, int, str]] = field(default_factory=dict)


class _Malformed(Exception):
    pass


# --------------------------------------------------------------------------- parsing
class _Reader:
    """bibtex's grammar over ``text`` from ``pos``: names, ``{...}``/``"..."`` values with
    ``#`` concatenation, numbers and ``@string`` macros."""

    def __init__(self, text: str, pos: int, strings: Mapping[str, str]) -> None:
        self.text = text
        self.pos = pos
        self.strings = strings

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip_space()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            found = self.peek() or "the end of the file"
            raise _Malformed(f"expected '{char}', found '{found}'")
        self.pos += 1

    def match(self, pattern: re.Pattern[str], what: str) -> str:
        self.skip_space()
        m = pattern.match(self.text, self.pos)
        if m is None:
            raise _Malformed(f"expected {what}")
        self.pos = m.end()
        return m.group(0)

    def value(self) -> str:
        parts = [self._part()]
        while self.peek() == "#":
            self.pos += 1
            parts.append(self._part())
        return "".join(parts)

    def _part(self) -> str:
        first = self.peek()
        if first in ("{", '"'):
            return self._delimited(first)
        if first.isdigit():
            return self.match(_NUMBER, "a number")
        name = self.match(_NAME, "a value").lower()
        return self.strings.get(name, "")

    def _delimited(self, opener: str) -> str:
        start = self.pos + 1
        depth = 0
        pos = start
        limit = min(len(self.text), start + MAX_FIELD_CHARS)
        entry = _ENTRY_START.search(self.text, start, limit)  # an unclosed value ends there
        limit = entry.start() if entry else limit
        pattern = _BRACES if opener == "{" else _BRACES_OR_QUOTE
        while True:
            m = pattern.search(self.text, pos, limit)
            if m is None:
                raise _Malformed("a value is not closed (unbalanced braces?)")
            char = m.group(0)
            pos = m.end()
            if char == "{":
                depth += 1
            elif char == "}" and depth > 0:
                depth -= 1
            elif depth == 0 and (char == "}") == (opener == "{"):
                self.pos = pos
                return self.text[start:pos - 1]
            elif char == "}":
                raise _Malformed("a '}' closes nothing")


def parse_bib(text: str, source: str = "") -> Bibliography:
    """The entries of a .bib file's ``text``, read as bibtex reads them; an entry whose body
    does not parse is recorded in ``broken`` and reading goes on at the next line starting
    with ``@``. Linear in the text; at most ``MAX_ENTRIES`` entries."""
    out = Bibliography()
    strings: dict[str, str] = dict(_MONTHS)
    pos = 0
    line, line_pos = 1, 0
    while len(out.entries) + len(out.broken) < MAX_ENTRIES:
        at = text.find("@", pos)
        if at < 0:
            break
        line += text.count("\n", line_pos, at)
        line_pos = at
        reader = _Reader(text, at + 1, strings)
        key = ""
        try:
            kind = reader.match(_NAME, "an entry type").lower()
            if kind == "comment":
                pos = reader.pos
                continue
            closer = {"{": "}", "(": ")"}.get(reader.peek())
            if closer is None:
                raise _Malformed("expected '{' after the entry type")
            reader.pos += 1
            if kind == "string":
                name = reader.match(_NAME, "a string name").lower()
                reader.expect("=")
                strings[name] = reader.value()
                reader.expect(closer)
            elif kind == "preamble":
                reader.value()
                reader.expect(closer)
            else:
                key = reader.match(_ENTRY_KEY, "the entry's key")
                out.entries.setdefault(key, Entry(kind, key, _fields(reader, closer), line))
        except _Malformed as exc:
            if not key:  # as bibtex: on at the next '@' (``@@article{`` is an entry)
                pos = at + 1
                continue
            if key not in out.entries:
                out.broken.setdefault(key, (source, line, str(exc)))
            nxt = _NEXT_ENTRY.search(text, at + 1)
            pos = nxt.end() - 1 if nxt else len(text)
            continue
        pos = reader.pos
    return out


def _fields(reader: _Reader, closer: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    while True:
        if reader.peek() == closer:
            reader.pos += 1
            return fields
        reader.expect(",")
        if reader.peek() == closer:
            reader.pos += 1
            return fields
        name = reader.match(_NAME, "a field name").lower()
        reader.expect("=")
        fields.setdefault(name, reader.value())


# --------------------------------------------------------------------------- finding
#: where a site keeps its .bib files, relative to its root (al-folio/distill, jekyll-scholar)
_BIB_FOLDERS = ("assets/bibliography", "_bibliography")


def bibliography_names(meta: Mapping[str, Any], site: Mapping[str, Any], post: str,
                       ) -> tuple[list[str], list[str], bool]:
    """(file names, folders to look in relative to the site root, from front matter?): the
    front matter's ``bibliography:`` (a name or a list) in the post's folder, the site root
    (``/assets/x.bib``) and the site's ``_BIB_FOLDERS``; else the .bib named after the post
    there (distill layouts that take no front matter), then jekyll-scholar's ``scholar:
    bibliography`` (default ``references.bib``) in its ``source`` (default
    ``_bibliography``)."""
    given = meta.get("bibliography")
    names = [given] if isinstance(given, str) else \
        [n for n in given if isinstance(n, str)] if isinstance(given, list) else []
    names = [n.strip() for n in names if n.strip()]
    if names:
        return names, list(_BIB_FOLDERS), True
    scholar = site.get("scholar")
    scholar = scholar if isinstance(scholar, Mapping) else {}
    name = str(scholar.get("bibliography") or "references.bib").strip()
    source = str(scholar.get("source") or "_bibliography").strip().strip("/")
    if not name.lower().endswith(".bib"):
        name += ".bib"
    own = [Path(post).stem + ".bib"] if post.endswith((".md", ".markdown")) else []
    return [*own, name], [*_BIB_FOLDERS, source.removeprefix("./") or "."], False


def find_bibliographies(meta: Mapping[str, Any], site: Mapping[str, Any],
                        images: ImageResolver, post: str) -> tuple[list[Path], list[str]]:
    """(the .bib files found, the names not found), looked up inside the folders a post's
    files may come from (``ImageResolver.allowed``). Without front matter the first name
    found is the post's .bib."""
    names, folders, from_front_matter = bibliography_names(meta, site, post)
    tops = [d for d in (images.site_root, *images.resource_path) if d is not None]
    roots = ([images.base_dir, *tops] if from_front_matter and images.base_dir else []) + [
        top / folder for top in tops for folder in dict.fromkeys(folders)]
    found: list[Path] = []
    missing: list[str] = []
    for name in names:
        path = resolve_inside(roots, name, within=images.allowed)
        if path is None:
            missing.append(name)
        elif path not in found:
            found.append(path)
            if not from_front_matter:
                return found, []
    return found, missing[-1:] if not from_front_matter else missing


def read_bibliographies(paths: Iterable[Path]) -> tuple[Bibliography, list[str]]:
    """Every entry of ``paths`` (the first file with a key wins) and why a file could not
    be read (too large, unreadable)."""
    merged = Bibliography()
    problems: list[str] = []
    for path in paths:
        try:
            if path.stat().st_size > MAX_BIB_BYTES:
                problems.append(f"{path.name} is larger than {MAX_BIB_BYTES >> 20} MB")
                continue
            data = path.read_bytes()
        except OSError as exc:
            problems.append(f"{path.name} cannot be read: {exc.strerror or exc}")
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        bib = parse_bib(text.replace("\r\n", "\n"), path.name)
        for key, entry in bib.entries.items():
            merged.entries.setdefault(key, entry)
        for key, why in bib.broken.items():
            if key not in merged.entries:
                merged.broken.setdefault(key, why)
    return merged, problems


# --------------------------------------------------------------------------- cleaning
@lru_cache(maxsize=1)
def _to_text() -> LatexNodes2Text:
    """pylatexenc's LaTeX-to-text converter, made on first use (its import is slow)."""
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text(math_mode="text", strict_latex_spaces=True)


def _plain(value: str) -> str:
    """A field's LaTeX as plain text (accents, escapes and math as Unicode); a bare ``%``
    or ``&`` is that character (the web shows it so), not a comment hiding the rest."""
    try:
        text = _to_text().latex_to_text(_BARE_SPECIAL.sub(r"\\\1", value))
    except Exception:  # a parse pylatexenc gives up on: its characters, braces dropped
        text = _BRACES.sub("", value)
    return " ".join(text.split())


def _latex(value: str, unicode: bool) -> str:
    """A field as LaTeX for the .bib: plain text escaped as prose is; a literal brace is a
    command (bibtex counts every brace, escaped or not)."""
    escaped = escape_text(_plain(value), unicode)
    if unicode:  # the text fonts lack the scripts pylatexenc makes of math's _1 and ^2
        escaped = _SCRIPT_DIGIT.sub(_script, escaped)
    return escaped.replace("\\{", "\\textbraceleft{}").replace("\\}", "\\textbraceright{}")


_SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎"
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾"
_SCRIPT_DIGIT = re.compile(f"[{_SUBSCRIPTS}{_SUPERSCRIPTS}]+")


def _script(m: re.Match[str]) -> str:
    """A run of Unicode sub- or superscript characters as ``\\textsubscript`` or
    ``\\textsuperscript`` of the plain ones."""
    plain = "0123456789+-=()"
    sub = "".join(plain[_SUBSCRIPTS.index(c)] for c in m.group(0) if c in _SUBSCRIPTS)
    sup = "".join(plain[_SUPERSCRIPTS.index(c)] for c in m.group(0) if c in _SUPERSCRIPTS)
    return (f"\\textsubscript{{{sub}}}" if sub else "") + \
        (f"\\textsuperscript{{{sup}}}" if sup else "")


def _split_names(value: str) -> list[str]:
    """The names of an author list, split at ``and`` outside braces."""
    names: list[str] = []
    depth = start = 0
    pos = 0
    while pos < len(value):
        char = value[pos]
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(0, depth - 1)
        elif depth == 0 and char.isspace():
            m = _AND.match(value, pos)
            if m:
                names.append(value[start:pos])
                start = pos = m.end()
                continue
        pos += 1
    names.append(value[start:])
    return [n.strip() for n in names if n.strip()]


def _names(value: str, unicode: bool) -> str:
    """An author list for bibtex: each name cleaned, ``Last, First`` commas and a name that
    is one braced group (a corporate author) kept as they are."""
    out: list[str] = []
    for name in _split_names(value):
        whole = name.startswith("{") and name.endswith("}") and \
            _split_names(name[1:-1]) == [name[1:-1].strip()] and "{" not in name[1:-1]
        text = _latex(name, unicode)
        if text.strip():
            out.append("{" + text + "}" if whole else text)
    return " and ".join(out)


def _link(value: str) -> str | None:
    """A url field as ``\\url`` wants it (LaTeX escapes and braces undone, then escaped as
    links are), or None when it is no web address."""
    url = _BRACES.sub("", value)
    for escaped, char in (("\\_", "_"), ("\\%", "%"), ("\\#", "#"), ("\\&", "&"),
                          ("\\~", "~"), ("\\textasciitilde", "~")):
        url = url.replace(escaped, char)
    url = url.strip()
    if not url or "\\" in url or any(c.isspace() for c in url) or not url.lower().startswith(
            ("http://", "https://")) or not url_scheme_allowed(url):
        return None
    return escape_url(url)


#: where a web address of the work may be, in order: (field, prefix); al-folio's ``html``
#: links the paper's page, ``arxiv`` its arXiv id
_LINKS = (("url", ""), ("doi", "https://doi.org/"), ("html", ""),
          ("arxiv", "https://arxiv.org/abs/"))


def inherit(entry: Entry, bib: Bibliography) -> Entry:
    """``entry`` with the fields of the entry its ``crossref`` names that it lacks (as
    bibtex does; a proceedings' or book's title is the ``booktitle``)."""
    parent = bib.entries.get(entry.fields.get("crossref", "").strip())
    if parent is None or parent is entry:
        return entry
    fields = dict(parent.fields)
    if "title" in fields and parent.kind in ("proceedings", "book"):
        fields.setdefault("booktitle", fields["title"])
    fields.pop("title", None)
    return replace(entry, fields={**fields, **entry.fields})


def _address(entry: Entry) -> str | None:
    """The work's web address for ``\\url``: the first of ``_LINKS`` that is one."""
    for name, prefix in _LINKS:
        value = _BRACES.sub("", entry.fields.get(name, "")).replace("\\_", "_").strip()
        if not value or (name == "doi" and not _DOI.fullmatch(value)) or (
                name == "arxiv" and not _ARXIV.fullmatch(value)):
            continue
        url = _link(prefix + value)
        if url:
            return url
    return None


def clean_entry(entry: Entry, unicode: bool) -> str:
    """``entry`` as a .bib entry bibtex and LaTeX accept whatever the original held: the
    fields the style prints, as escaped text; the title's case kept as written (distill
    and jekyll-scholar show it so); one web address (``_LINKS``)."""
    fields: list[tuple[str, str]] = []
    for name, value in entry.fields.items():
        if name in _NAME_FIELDS:
            fields.append((name, _names(value, unicode)))
        elif name in _PROTECTED_FIELDS:
            fields.append((name, "{" + _latex(value, unicode) + "}"))
        elif name in _TEXT_FIELDS:
            fields.append((name, _latex(value, unicode)))
    url = _address(entry)
    if url:
        fields.append(("url", url))
    kind = _TYPES.get(entry.kind, "misc")
    lines = [f"@{kind}{{{entry.key},"]
    lines += [f"  {name} = {{{value}}}," for name, value in fields if value]
    return "\n".join([*lines, "}"])


# --------------------------------------------------------------------------- the body
def _markdown_lines(body: str) -> list[int | None]:
    """The Markdown line of each line of ``body`` (0-based), from its ``%L`` markers, as
    ``Document.markdown_line`` counts them."""
    lines: list[int | None] = []
    current: tuple[int, int] | None = None
    for number, text in enumerate(body.split("\n")):
        m = _MARKER.search(text)
        if m:
            current = (number, int(m.group(1)))
            lines.append(current[1])
        else:
            lines.append(None if current is None else current[1] + number - current[0] - 1)
    return lines


@dataclass(frozen=True)
class _Cite:
    start: int
    end: int
    keys: tuple[str, ...]
    line: int | None


def _cites(body: str) -> list[_Cite]:
    lines = _markdown_lines(body)
    out: list[_Cite] = []
    for m in _CITE.finditer(body):
        keys = tuple(dict.fromkeys(k.strip() for k in m.group(1).split(",") if k.strip()))
        out.append(_Cite(m.start(), m.end(), keys, lines[body.count("\n", 0, m.start())]))
    return out


def _missing_mark(keys: Sequence[str], unicode: bool) -> str:
    return "\\textbf{[" + ", ".join(escape_text(k, unicode) + "?" for k in keys) + "]}"


def resolve(rendered: RenderResult, meta: Mapping[str, Any], site: Mapping[str, Any],
            images: ImageResolver, unicode: bool, path: str) -> RenderResult:
    """``rendered`` with its ``\\mdcite``/``\\mdbibliography`` made real: natbib citations
    and bibtex's References of the post's .bib (written into the body), missing keys bold
    and warned about at their Markdown line. A post without citations is returned as is."""
    body = rendered.body
    if "\\mdcite" not in body and "\\mdbibliography" not in body:
        return rendered
    cites = _cites(body)
    places = [m.start() for m in _BIBLIOGRAPHY.finditer(body)]
    first_line = cites[0].line if cites else _markdown_lines(body)[
        body.count("\n", 0, places[0])] if places else None
    paths, not_found = find_bibliographies(meta, site, images, path)
    bib, problems = read_bibliographies(paths)
    problems += [f"bibliography '{name}' was not found in the post's folder or the site's "
                 "assets/bibliography/ or _bibliography/ (nothing outside the site's folder "
                 "and the resource path is read)" for name in not_found]
    shown = "; its citations are shown as [key?]" if cites else "; no References are printed"
    diagnostics = [warning("bibliography-missing", p + shown, first_line, path=path)
                   for p in problems]
    used: dict[str, None] = {}
    replacements: list[tuple[int, int, str]] = []
    missing_keys: list[tuple[str, int | None]] = []
    for cite in cites:
        known = [k for k in cite.keys if k in bib.entries and _KEY.fullmatch(k)]
        missing = [k for k in cite.keys if k not in known]
        used.update(dict.fromkeys(known))
        missing_keys += [(k, cite.line) for k in missing]
        text = ("\\citep{" + ",".join(known) + "}" if known else "") + (
            ("\\," if known else "") + _missing_mark(missing, unicode) if missing else "")
        replacements.append((cite.start, cite.end, text))
    if paths:
        diagnostics += _key_warnings(missing_keys, bib, paths, path)
    cite_all = not cites and bool(places)  # jekyll-scholar lists the whole file then
    entries = [inherit(e, bib) for e in (
        bib.entries.values() if cite_all else (bib.entries[k] for k in used))
        if _KEY.fullmatch(e.key)]
    references = ("\\nocite{*}" if cite_all else "") + \
        f"\\bibliographystyle{{{STYLE}}}\\bibliography{{{BIB_NAME}}}" if entries else ""
    for k, start in enumerate(places):  # LaTeX prints one bibliography: at the first place
        command = _BIBLIOGRAPHY.match(body, start)
        assert command is not None
        replacements.append((start, command.end(), references if k == 0 else ""))
    parts: list[str] = []
    last = 0
    for start, end, text in sorted(replacements):
        parts += [body[last:start], text]
        last = end
    body = "".join([*parts, body[last:]])
    diagnostics = [*rendered.diagnostics, *diagnostics]
    if not entries:
        return replace(rendered, body=body, diagnostics=diagnostics)
    if not places:  # distill prints the References of a post that cites at its end
        body = body.rstrip("\n") + "\n" + references + "\n"
    body = body.rstrip("\n") + "\n" + _filecontents(entries, unicode)
    return replace(rendered, body=body, features={*rendered.features, FEATURE},
                   diagnostics=diagnostics)


def _key_warnings(missing: Sequence[tuple[str, int | None]], bib: Bibliography,
                  paths: Sequence[Path], path: str) -> list[Diagnostic]:
    """One warning per missing key, at its first citation (at most ``MAX_KEY_WARNINGS``,
    then one that counts the rest)."""
    first: dict[str, int | None] = {}
    for key, line in missing:
        first.setdefault(key, line)
    out = [warning("citation-key", _why_missing(key, bib, paths), line, path=path)
           for key, line in list(first.items())[:MAX_KEY_WARNINGS]]
    if len(first) > MAX_KEY_WARNINGS:
        out.append(warning("citation-key", f"{len(first) - MAX_KEY_WARNINGS} more citation "
                           "keys are missing; shown as [key?]", missing[-1][1], path=path))
    return out


def _why_missing(key: str, bib: Bibliography, paths: Sequence[Path]) -> str:
    if key in bib.broken:
        source, line, why = bib.broken[key]
        return (f"citation key '{key}': its entry in {source} (line {line}) cannot be read "
                f"({why}); shown as [{key}?]")
    if key in bib.entries:
        return f"citation key '{key}' cannot be used in LaTeX; shown as [{key}?]"
    names = ", ".join(p.name for p in paths)
    return f"citation key '{key}' is not in {names}; shown as [{key}?]"


def _filecontents(entries: Sequence[Entry], unicode: bool) -> str:
    """The cleaned entries as the .bib bibtex reads, written by LaTeX's first pass."""
    text = "\n".join(clean_entry(e, unicode) for e in entries)
    return (f"\\begin{{filecontents*}}[overwrite]{{{BIB_NAME}.bib}}\n{text}\n"
            "\\end{filecontents*}\n")
