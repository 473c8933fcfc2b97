"""Every diagnostic code md2tex emits, with what it means: the catalogue that
``docs/diagnostics.md`` lists and that ``--ignore``/``--select`` and tools key on.

A code is stable once released; a new check adds a row here (``tests/test_codes.py`` fails
for a code emitted but not catalogued, and for a catalogued code the docs do not list).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

CODES: Mapping[str, str] = MappingProxyType({
    "bibliography-missing":
        "the post's .bib was not found (or is unreadable or too large); its citations are shown "
        "as [key?]",
    "citation-key": "a cited key is not in the post's .bib (or its entry is malformed); shown "
        "as [key?]",
    "code-language": "no highlighter for language '...'; shown as plain text",
    "disk-full": "the disk filled up while TeX wrote its output",
    "engine-cjk":
        "the post contains CJK text: built with xelatex and xeCJK (choose an engine with --engine)",
    "engine-scripts": "the post contains a script pdflatex has no font for: built with xelatex",
    "failed": "the post failed in the batch (the cached result of an unchanged post)",
    "front-matter": "the front matter is not valid YAML, not a mapping, too large or an alias bomb",
    "html-depth":
        "HTML nested more than ... elements deep: the deeper tags are left out, their text is "
        "kept",
    "html-table": "HTML table with ... columns (more than ...): its rows are printed as text",
    "image-convert": "an SVG or GIF could not be converted; a placeholder is shown",
    "image-format":
        "the file is not PNG, JPEG, PDF, SVG or GIF (by its bytes); a placeholder is shown",
    "image-missing": "the image was not found; a placeholder is shown",
    "image-outside":
        "the image lies outside the site root, the post folder and the resource path (or is a "
        "file: URL); a placeholder is shown",
    "image-remote": "a remote image is not downloaded (--offline, --safe, a library call "
                    "without a cache) or its download failed; a placeholder is shown",
    "image-scheme": "the image address is not a file; a placeholder is shown",
    "input": "the file cannot be read",
    "input-encoding": "invalid UTF-8 byte 0x...; the file is not UTF-8 text",
    "input-too-large": "the post has ... characters; md2tex converts posts of up to ...",
    "internal-error": "a bug in md2tex (reported in the batch instead of stopping it)",
    "isolation": "bubblewrap was required (MD2TEX_ISOLATION=bwrap) and does not work here",
    "katex-environment": "... (...) became ...",
    "katex-line-break":
        "a top-level \\\\ in KaTeX display math breaks the line: the formula was put in gathered",
    "link-scheme": "link to ... is not a web or mail link; only its text is kept",
    "liquid-include":
        "{% include ... %} is part of the site's theme, which md2tex does not have; it is left "
        "out",
    "liquid-limit": "...; Liquid is not applied to this post",
    "liquid-tag": "{% ... %} outside an if or case block",
    "liquid-unclosed": "{% raw %} is never closed",
    "liquid-variable": "Liquid variable '{{ ... }}' has no value here; it is left out",
    "macro-definition":
        "a site or front-matter macro definition cannot be used; that macro stays undefined",
    "math-alignat-columns": "...{...} allows ... '&' per row; this row has more",
    "math-ampersand": "\\\\ inside braces in an alignment: TeX rejects it",
    "math-array-columns": "this row has more cells than the ... column... of the ...'s column spec",
    "math-array-spec": "'...{...}': the column width must be a dimension such as 2cm",
    "math-backslash": "a backslash before '...' (U+...): LaTeX has no such command",
    "math-blank-line": "blank line inside math removed (LaTeX ends the paragraph there and fails)",
    "math-cd": "amscd arrows are @>>>, @<<<, @VVV, @AAA, @=, @| or @. (labels between the symbols)",
    "math-ce": "\\ce{...} with \\...: mhchem in LaTeX cannot be shown to accept it",
    "math-char": "\\char needs a character code 0..255",
    "math-color":
        "a colour neither LaTeX (xcolor) nor CSS knows: the default colour, as the browser shows",
    "math-comment": "'%' starts a comment in TeX (and MathJax): the rest of the line is dropped",
    "math-cr": "\\cr outside an alignment",
    "math-css-color": "CSS colour ... became [HTML]{...}",
    "math-definition": "\\...: \\... already exists (or no name follows)",
    "math-definition-hoisted": "definition of \\... moved to the preamble",
    "math-dimension": "\\...[...]: not a dimension",
    "math-dollar": "'$' inside math became \\$ (a dollar sign, as MathJax shows it)",
    "math-double-script": "double superscript: this nucleus already has a superscript",
    "math-env-alone": "... must be the whole display formula (LaTeX has no inner form of it)",
    "math-env-mismatch": "\\begin{...} is never closed by \\end{...}",
    "math-env-option": "an environment was given an option it does not take",
    "math-eqnarray-tag":
        "... with \\tag became ... (amsmath allows \\tag in align, not in eqnarray)",
    "math-extra-column": "... allows ... '&' per row; this row has more",
    "math-group": "\\begingroup without \\endgroup",
    "math-group-break":
        "\\\\ inside braces: dropped as MathJax ignores it there, or (KaTeX) the group's lines "
        "stacked as KaTeX breaks them",
    "math-hash": "'#' is only valid in macro definitions",
    "math-html": "\\... needs its argument in braces",
    "math-in-text": "\\... inside \\text{} was put in $...$ (it is a math command)",
    "math-inner-env": "... inside other math became ... (LaTeX allows ... only on its own)",
    "math-label": "a second \\label in one equation was dropped (LaTeX allows one)",
    "math-left-right": "\\left has no matching \\right",
    "math-limits": "\\... must follow a big operator such as \\sum or \\int, not ...",
    "math-mathbb":
        "\\mathbb{...}: amssymb's blackboard bold has only capital letters; LaTeX prints wrong "
        "glyphs",
    "math-mathjax-only": "\\... exists only in MathJax; LaTeX has no equivalent",
    "math-mathtoolsset": "\\mathtoolsset: '...' is not a mathtools key (or not in this TeX Live)",
    "math-matrix-columns": "... with ... columns: the preamble raises amsmath's MaxMatrixCols (10)",
    "math-misplaced":
        "a command stands where LaTeX does not allow it (e.g. \\hline outside an array)",
    "math-missing-arg": "\\...: its optional argument [...] is never closed",
    "math-number": "\\xmathstrut takes a number, e.g. \\xmathstrut{0.1}",
    "math-old-form": "\\... (plain TeX) needs its rows in braces",
    "math-over": "two of \\over, \\choose, \\atop... in one group are ambiguous for TeX",
    "math-package-missing": "this needs the LaTeX package ..., which is not installed here",
    "math-preamble-only":
        "\\... is not supported inside a formula (it belongs in the LaTeX preamble)",
    "math-script": "'...' at the end of the formula has no argument",
    "math-script-brace":
        "\\... as an unbraced ... was put in braces (MathJax accepts it; TeX does not)",
    "math-size-switch":
        "a size switch in math was wrapped in \\text so it takes effect (LaTeX ignores it in math)",
    "math-split": "split with several '&' in a row became aligned (split allows one)",
    "math-tag": "more than one \\tag in one formula",
    "math-tag-moved":
        "\\tag moved to the end of the formula (amsmath does not allow it inside aligned or "
        "gathered)",
    "math-tagform":
        "\\usetagform{...}: no such tag form (define it with \\newtagform in this formula)",
    "math-tex-accepted": "...: TeX accepts this formula (checked with TeX before the build)",
    "math-tex-rejected": "TeX rejects this formula: ...; ...",
    "math-text-accent": "the accent \\... has nothing to put its accent on",
    "math-text-command": "\\... is a text-mode command and fails in math",
    "math-text-special": "'...' inside \\text{} became ... (in LaTeX it is only valid in math)",
    "math-too-deep": "braces nested more than ... deep",
    "math-too-long": "formula is longer than 20,000 characters",
    "math-unbalanced-brace": "'{' is never closed",
    "math-unclosed":
        "'$$' is never closed in its paragraph (a list, heading or blank line ends it first): "
        "printed as text, as the web page shows it",
    "math-unbraced-arg":
        "\\...\\...: a command with arguments as an unbraced argument fails in LaTeX",
    "math-undefined": "undefined control sequence \\...",
    "math-unicode": "\\unicode{...}: not a character code",
    "math-unknown-env": "unknown environment '...'",
    "math-unverified":
        "...: this formula uses TeX programming md2tex cannot check without TeX; TeX will "
        "decide",
    "math-vcenter":
        "\\vcenter needs a vertical box (LaTeX rejects \\vcenter{...} with math inside)",
    "math-verb": "\\verb needs its text between two equal characters on one line, e.g. \\verb|x|",
    "mathjax-accent-group":
        "an accent with scripts closing a group that takes a script got an empty group after "
        "it (a double script in TeX, shown by MathJax)",
    "mathjax-alias": "\\... (...) became ...",
    "mathjax-ce-arrow":
        "spaces were put around the arrows in \\ce{...} (LaTeX's mhchem needs them)",
    "mathjax-color": "\\color{c}{x} (MathJax 2) became \\textcolor{c}{x}",
    "mathjax-colorbox": "the content of \\... was put in $...$ (MathJax reads it as math)",
    "mathjax-dashed-rule": "':' (MathJax dashed rule) in the column spec became '|'",
    "mathjax-dimension": "\\...: ... became ...em (mu is only valid in math spacing)",
    "mathjax-extra-cells":
        "a row has more cells than its environment's columns: columns added, as MathJax shows them",
    "mathjax-html": "\\... (MathJax HTML styling) was removed; its content is kept",
    "mathjax-lap":
        "\\... in math became \\... (MathJax typesets \\... in math mode; LaTeX needs "
        "mathtools' \\...)",
    "mathjax-mathbb":
        "\\mathbb{1} became a double-struck one (amssymb's blackboard bold has no digits)",
    "mathjax-pu": "\\pu{...} (mhchem units, which this TeX's mhchem lacks) became ...",
    "mathjax-raise": "\\...{..}{..} (MathJax) became \\raisebox",
    "mathjax-raisebox": "the content of \\raisebox was put in $...$ (MathJax reads it as math)",
    "mathjax-require":
        "\\require{...} (MathJax extension loading) was removed; LaTeX loads the package itself",
    "mathjax-sideset":
        "the base of \\sideset was made an operator with \\mathop (MathJax accepts any base)",
    "mathjax-text-symbol":
        "\\... in math was put in \\text{\\...} (MathJax accepts it in math; LaTeX only in "
        "text)",
    "mathjax-unicode": "\\unicode{...} became '...'",
    "missing-character": "character '...' (U+...) has no glyph under ...; a placeholder is printed",
    "missing-font":
        "the post is written in a script no installed font has: the PDF would show empty boxes",
    "missing-glyph":
        "TeX reported characters no font of the post has (a warning at their Markdown line)",
    "not-run": "not converted (...)",
    "output": "the output cannot be written (missing folder, a link, a device, a collision)",
    "output-budget":
        "the post expands to more LaTeX than its budget allows (e.g. a long note "
        "referenced thousands of times)",
    "output-name": "... is also written to ...: this post is written to ... instead",
    "pdf-active": "refused the PDF: it contains ...",
    "raw-html": "an HTML tag md2tex does not render; its text is kept",
    "template": "the template cannot be read or rendered",
    "tex-error": "TeX stopped with an error outside a formula; the message gives the LaTeX line",
    "tex-killed": "... was stopped by ... before it finished; nothing was written",
    "tex-kept": "--keep-tex: the LaTeX is kept in ..., TeX's log in ...",
    "tex-no-output": "TeX produced no pages (is the post empty?)",
    "tex-timeout":
        "... did not finish within ... seconds and was stopped; the post may make TeX loop",
    "time-budget":
        "the conversion exceeded its time budget (--timeout): the post is too large or "
        "too repetitive",
    "unsafe-header": "--safe: include_in_header (-H) is raw LaTeX for the preamble: refused",
    "unsafe-macros": "--safe: site macros: ...",
    "unsafe-math": "--safe: ...; the formula is shown as code",
    "unsafe-variable":
        "--safe: a template variable must be a plain option list (letters, digits, = , . "
        "- and spaces)",
    "unsupported-block": "Markdown block '...' is not supported; its text is kept",
})


def markdown_table() -> str:
    """docs/diagnostics.md's table: one row per code."""
    rows = ["| code | meaning |", "| --- | --- |"]
    rows += ["| `" + code + "` | " + text.replace("|", "\\|") + " |"
             for code, text in CODES.items()]
    return "\n".join(rows) + "\n"
