"""Citations: distill's ``<d-cite>``/``<d-bibliography>`` and jekyll-scholar's sites become
numbered natbib citations and a References section made by bibtex; a missing key or .bib
is a warning at the Markdown line and stays visible as ``[key?]``; a malformed .bib never
breaks the post. PDFs are built with TeX Live and read back with pdftotext."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from helpers import build, needs_engine, needs_tex, pdf_text, run_md2tex, squash

import md2tex
from md2tex.latex.citations import parse_bib
from md2tex.tex import bibtex, private_dir

#: a site's .bib (``@@misc``: a doubled ``@`` as real sites have it; bibtex reads the entry)
BIB = r"""
@string{jasa = "Journal of the American Statistical Association"}

@book{mccullagh1989,
  author = {McCullagh, P. and Nelder, J.A.},
  publisher = {Chapman \& Hall},
  title = {Generalized Linear {Models}},
  url = {http://books.google.com/books?id=h9kFH2\_FfBkC},
  year = 1989
}

@article{efron_1975,
  author = {Bradley Efron and Carl Morris and {\"O}zt{\"u}rk, Ahmet},
  title = {Data Analysis Using {Stein}'s Estimator},
  journal = jasa,
  year = {1975}, month = jun,
  volume = {70}, pages = {311--319},
  doi = {10.1080/01621459.1975.10479864},
}

@@misc{who2021,
  author = {{World Health Organization}},
  title = "Global Report " # "on Things",
  year = 2021,
}
"""

#: entries bibtex or LaTeX would choke on: an unclosed brace (the entry is lost, the next
#: is read), TeX specials and commands in fields, a brace that closes nothing
HOSTILE_BIB = r"""
@article{unclosed,
  title = {Never {closed,
  year = 2000
}
@article{hostile,
  author = {Smith, J. and O'Brien, K. and {\relax}},
  title = {50% of A & B_c ^ #1 $x^2 \input{/etc/passwd} \end{filecontents*} \undefinedmacro{y}},
  journal = {J. \"Ubel} # {\foo},
  note = {unbalanced $ math},
  year = {2019},
  url = {javascript:alert(1)},
}
@misc{stray, title = {x} year = 2}
@book{survivor,
  author = {Last, First},
  title = {The Survivor},
  publisher = {Pub},
  year = 2022,
}
"""


def site(tmp_path: Path, bib: str = BIB, folder: str = "assets/bibliography",
         name: str = "refs.bib") -> Path:
    """A Jekyll site with the .bib in ``folder``; returns the site's ``_posts``."""
    (tmp_path / "site" / folder).mkdir(parents=True)
    (tmp_path / "site" / folder / name).write_text(bib, encoding="utf-8")
    posts = tmp_path / "site" / "_posts"
    posts.mkdir()
    return posts


def post(posts: Path, text: str, name: str = "2024-01-01-post.md") -> md2tex.Document:
    path = posts / name
    path.write_text(text, encoding="utf-8")
    return md2tex.convert_file(path)


def warnings_of(doc: md2tex.Document, code: str) -> list[tuple[int | None, str]]:
    return [(d.line, d.message) for d in doc.diagnostics if d.code == code]


DISTILL = """---
title: Distill citations
bibliography: refs.bib
---

Quoted keys with spaces <d-cite key="mccullagh1989, efron_1975"></d-cite> here.

Unquoted <d-cite key=who2021></d-cite> and missing <d-cite key="nope2020"></d-cite>.

<d-bibliography></d-bibliography>

After the references.
"""


# --------------------------------------------------------------------------- the .bib
def test_parse_bib_reads_strings_concatenation_and_goes_on_after_a_broken_entry() -> None:
    bib = parse_bib(BIB + HOSTILE_BIB, "refs.bib")
    assert list(bib.entries) == ["mccullagh1989", "efron_1975", "who2021", "hostile",
                                 "survivor"]
    assert bib.entries["efron_1975"].fields["journal"] == \
        "Journal of the American Statistical Association"
    assert bib.entries["efron_1975"].fields["month"] == "June"
    assert bib.entries["who2021"].fields["title"] == "Global Report on Things"
    source, line, why = bib.broken["unclosed"]
    assert (source, line) == ("refs.bib", BIB.count("\n") + 2) and "not closed" in why


def test_parse_bib_is_linear_on_a_flood_of_unclosed_entries() -> None:
    import time

    text = "@article{k,\n title = {" + "x{" * 50_000 + "\n" + "@misc{m,\n}\n" * 2000
    started = time.monotonic()
    bib = parse_bib(text)
    assert time.monotonic() - started < 2.0
    assert "m" in bib.entries and "k" in bib.broken


# --------------------------------------------------------------------------- the LaTeX
def test_quoted_unquoted_and_several_keys_become_one_numbered_citation_each(
        tmp_path: Path) -> None:
    doc = post(site(tmp_path), DISTILL)
    assert "\\citep{mccullagh1989,efron_1975}" in doc.tex
    assert "\\citep{who2021}" in doc.tex
    assert "\\usepackage[numbers,square,sort&compress]{natbib}" in doc.tex
    # one bibliography, where <d-bibliography> was, with only the cited entries
    assert doc.tex.count("\\bibliography{md2tex-references}") == 1
    assert doc.tex.index("\\bibliography{") < doc.tex.index("After the references")
    assert "@book{mccullagh1989," in doc.tex and "@misc{who2021," in doc.tex


def test_a_missing_key_is_a_warning_at_its_line_and_stays_visible(tmp_path: Path) -> None:
    doc = post(site(tmp_path), DISTILL)
    assert warnings_of(doc, "citation-key") == [
        (8, "citation key 'nope2020' is not in refs.bib; shown as [nope2020?]")]
    assert "\\textbf{[nope2020?]}" in doc.tex


def test_a_missing_bib_is_a_warning_at_the_first_citation(tmp_path: Path) -> None:
    posts = site(tmp_path)
    doc = post(posts, DISTILL.replace("refs.bib", "other.bib"))
    found = warnings_of(doc, "bibliography-missing")
    assert len(found) == 1 and found[0][0] == 6 and "'other.bib' was not found" in found[0][1]
    assert "\\textbf{[mccullagh1989?, efron\\_1975?]}" in doc.tex
    assert "\\citep" not in doc.tex and "natbib" not in doc.tex
    assert "\\bibliography{" not in doc.tex


def test_a_bib_outside_the_site_is_never_read(tmp_path: Path) -> None:
    posts = site(tmp_path)
    (tmp_path / "secret.bib").write_text(BIB, encoding="utf-8")
    (posts / "link.bib").symlink_to(tmp_path / "secret.bib")
    for name in ("../../secret.bib", str(tmp_path / "secret.bib"), "link.bib"):
        doc = post(posts, DISTILL.replace("refs.bib", name))
        assert warnings_of(doc, "bibliography-missing"), name
        assert "McCullagh" not in doc.tex


def test_a_bib_too_large_is_a_warning_not_a_read(tmp_path: Path) -> None:
    from md2tex.latex.citations import MAX_BIB_BYTES

    doc = post(site(tmp_path, bib=BIB + "%" * MAX_BIB_BYTES), DISTILL)
    assert "refs.bib is larger than 2 MB" in warnings_of(doc, "bibliography-missing")[0][1]
    assert "\\textbf{[who2021?]}" in doc.tex


def test_the_bib_beside_the_post_and_in_underscore_bibliography(tmp_path: Path) -> None:
    posts = site(tmp_path, folder="_bibliography")
    doc = post(posts, DISTILL)
    assert "\\citep{who2021}" in doc.tex and not warnings_of(doc, "bibliography-missing")
    (posts / "near.bib").write_text(BIB.replace("who2021", "near2021"), encoding="utf-8")
    doc = post(posts, DISTILL.replace("refs.bib", "near.bib").replace("who2021", "near2021"))
    assert "\\citep{near2021}" in doc.tex
    doc = post(posts, DISTILL.replace("refs.bib", "/_bibliography/refs.bib"))
    assert "\\citep{who2021}" in doc.tex  # a site-root path


def test_jekyll_scholar_site_config_names_the_bib(tmp_path: Path) -> None:
    """No front matter ``bibliography:``: jekyll-scholar's ``scholar: source`` and
    ``bibliography`` (the name without .bib) from the site's settings."""
    posts = site(tmp_path, folder="_bibliography", name="papers.bib")
    text = DISTILL.replace("bibliography: refs.bib\n", "")
    path = posts / "2024-01-01-post.md"
    path.write_text(text, encoding="utf-8")
    options = md2tex.Options(site={"scholar": {"source": "/_bibliography/",
                                               "bibliography": "papers"}})
    doc = md2tex.convert_file(path, options)
    assert "\\citep{mccullagh1989,efron_1975}" in doc.tex
    doc = md2tex.convert_file(path)  # default: _bibliography/references.bib
    assert "references.bib" in warnings_of(doc, "bibliography-missing")[0][1]


def test_a_distill_post_without_front_matter_uses_the_bib_named_after_it(
        tmp_path: Path) -> None:
    """distill lecture-note layouts take ``assets/bibliography/<post>.bib`` and no front
    matter key."""
    posts = site(tmp_path, name="2019-01-28-lecture.bib")
    doc = post(posts, DISTILL.replace("bibliography: refs.bib\n", ""),
               name="2019-01-28-lecture.md")
    assert "\\citep{who2021}" in doc.tex
    assert "not in 2019-01-28-lecture.bib" in warnings_of(doc, "citation-key")[0][1]


SCHOLAR = """---
title: Scholar citations
---

Liquid cites {% cite mccullagh1989 efron_1975 %} and {% cite who2021 --file references %}.

A missing one {% cite nope2020 %}.

{% bibliography --cited %}
"""


@needs_tex
def test_jekyll_scholar_cite_and_bibliography_tags(tmp_path: Path) -> None:
    """``{% cite a b %}`` (options such as ``--file`` dropped) and ``{% bibliography %}``
    with jekyll-scholar's default ``_bibliography/references.bib``."""
    posts = site(tmp_path, folder="_bibliography", name="references.bib")
    doc = post(posts, SCHOLAR)
    assert warnings_of(doc, "citation-key") == [
        (7, "citation key 'nope2020' is not in references.bib; shown as [nope2020?]")]
    text = squash(pdf_text(build(doc, tmp_path / "out.pdf")))
    assert "Liquid cites [1, 2] and [3]." in text and "A missing one [nope2020?]." in text
    assert "References [1] P. McCullagh and J.A. Nelder. Generalized Linear Models." in text


# --------------------------------------------------------------------------- PDFs
@needs_tex
def test_pdf_has_numbered_citations_and_the_references(tmp_path: Path) -> None:
    doc = post(site(tmp_path), DISTILL)
    text = squash(pdf_text(build(doc, tmp_path / "out.pdf")))
    assert "Quoted keys with spaces [1, 2] here." in text
    assert "Unquoted [3] and missing [nope2020?]." in text
    assert "References" in text
    assert "[1] P. McCullagh and J.A. Nelder. Generalized Linear Models." in text
    assert "Bradley Efron, Carl Morris, and Ahmet Öztürk. Data Analysis Using Stein\u2019s " \
        "Estimator. Journal of the American Statistical Association, 70:311\u2013319, June 1975" \
        in text
    assert "https://doi.org/10.1080/01621459.1975.10479864" in text.replace(" ", "")
    assert "[3] World Health Organization. Global Report on Things, 2021." in text
    assert text.index("References") < text.index("After the references")


@needs_tex
def test_a_post_that_cites_without_a_bibliography_tag_ends_with_references(
        tmp_path: Path) -> None:
    doc = post(site(tmp_path), DISTILL.replace("<d-bibliography></d-bibliography>", ""))
    text = squash(pdf_text(build(doc, tmp_path / "out.pdf")))
    assert text.index("After the references") < text.index("References") < \
        text.index("McCullagh")


@needs_tex
def test_a_bibliography_tag_without_citations_lists_the_whole_file(tmp_path: Path) -> None:
    """jekyll-scholar's ``{% bibliography %}`` on a page that cites nothing (a list of
    publications) prints every entry."""
    doc = post(site(tmp_path), "---\nbibliography: refs.bib\n---\n\nMy papers:\n\n"
               "<d-bibliography></d-bibliography>\n")
    text = squash(pdf_text(build(doc, tmp_path / "out.pdf")))
    assert "McCullagh" in text and "Efron" in text and "World Health Organization" in text


@needs_tex
def test_a_malformed_bib_does_not_break_the_post(tmp_path: Path) -> None:
    posts = site(tmp_path, bib=HOSTILE_BIB)
    doc = post(posts, "---\nbibliography: refs.bib\n---\n\n"
               "See <d-cite key=\"hostile,survivor\"></d-cite>.\n\n"
               "And <d-cite key=unclosed></d-cite> and <d-cite key=stray></d-cite>.\n")
    found = warnings_of(doc, "citation-key")
    assert [line for line, _ in found] == [7, 7]
    assert "its entry in refs.bib (line 2) cannot be read" in found[0][1]
    text = squash(pdf_text(build(doc, tmp_path / "out.pdf")))
    assert "See [1, 2]." in text and "[unclosed?]" in text
    assert "50% of A & B_c ^ #1 x" in text  # every character literal, nothing run
    assert "[2] First Last. The Survivor. Pub, 2022." in text
    assert "javascript" not in text and "root:" not in text


@needs_engine("xelatex")
def test_references_under_xelatex_keep_their_letters(tmp_path: Path) -> None:
    """A CJK post is built with xelatex: the References are UTF-8 text, a formula's
    subscript in a title is a \\textsubscript (the text font has no U+2081)."""
    bib = BIB.replace("{Stein}'s Estimator", "{Stein}'s Estimator for $\\theta_1$")
    doc = post(site(tmp_path, bib=bib), DISTILL.replace("After the references.",
                                                        "\u4e2d\u6587 text."))
    assert doc.engine == "xelatex"
    result = md2tex.build_pdf(doc, tmp_path / "out.pdf")
    assert not [d for d in result.diagnostics if d.code == "missing-glyph"]
    text = unicodedata.normalize("NFC", squash(pdf_text(tmp_path / "out.pdf")))
    assert "Ahmet \u00d6zt\u00fcrk" in text and "Estimator for \u03b81" in text


@needs_tex
def test_citation_keys_with_underscores_and_colons_compile(tmp_path: Path) -> None:
    bib = "@misc{a_b:c-d.e/f,\n  title = {Odd Key},\n  year = 2020,\n}\n"
    doc = post(site(tmp_path, bib=bib), "---\nbibliography: refs.bib\n---\n\n"
               "Odd <d-cite key='a_b:c-d.e/f'></d-cite>.\n")
    assert not warnings_of(doc, "citation-key")
    text = squash(pdf_text(build(doc, tmp_path / "out.pdf")))
    assert "Odd [1]." in text and "Odd Key, 2020." in text


@needs_tex
def test_the_cli_reads_jekyll_scholar_settings_and_names_the_line(tmp_path: Path) -> None:
    """The site's ``_config.yml`` ``scholar:`` names the .bib; the command line prints the
    missing key's warning at its Markdown line; the PDF has the References."""
    posts = site(tmp_path, folder="bib", name="papers.bib")
    (tmp_path / "site" / "_config.yml").write_text(
        "title: A site\nscholar:\n  style: apa\n  source: /bib/\n  bibliography: papers\n",
        encoding="utf-8")
    path = posts / "2024-01-01-post.md"
    path.write_text(DISTILL.replace("bibliography: refs.bib\n", ""), encoding="utf-8")
    done = run_md2tex([path, "-o", tmp_path / "out.pdf"])
    assert done.returncode == 0, done.stderr
    assert "2024-01-01-post.md:7: warning: citation key 'nope2020' is not in papers.bib" \
        in done.stderr
    assert "[2] Bradley Efron" in squash(pdf_text(tmp_path / "out.pdf"))


# --------------------------------------------------------------------------- bibtex
@needs_tex
def test_bibtex_reads_only_the_database_md2tex_wrote(tmp_path: Path) -> None:
    """An .aux naming any other database (or none in the work dir) is refused before bibtex
    runs; bibtex's own search path is the work dir alone."""
    with private_dir.temporary("md2tex-test-") as workdir:
        (workdir / "document.aux").write_text(
            "\\citation{x}\n\\bibstyle{unsrtnat}\n\\bibdata{/etc/passwd}\n", encoding="utf-8")
        assert bibtex.wanted(workdir)
        assert "did not write" in bibtex.run(workdir, 30)[0]
        stand_in = (workdir / "document.bbl").read_text(encoding="utf-8")
        assert "\\bibitem{x}\\textbf{x}" in stand_in and "did not write" in stand_in
        assert not (workdir / "document.blg").exists()  # bibtex never ran
        (workdir / "document.aux").write_text(
            "\\citation{x}\n\\bibstyle{unsrtnat}\n\\bibdata{md2tex-references}\n",
            encoding="utf-8")
        assert "was not written" in bibtex.run(workdir, 30)[0]
        (workdir / "md2tex-references.bib").write_text("@misc{x, title = {T}, year = 1}\n",
                                                        encoding="utf-8")
        assert bibtex.run(workdir, 30) == []
        assert "\\bibitem" in (workdir / "document.bbl").read_text(encoding="utf-8")


def test_a_post_without_citations_is_unchanged(tmp_path: Path) -> None:
    doc = post(site(tmp_path), "---\nbibliography: refs.bib\n---\n\nNo citations.\n")
    assert "natbib" not in doc.tex and "filecontents" not in doc.tex
    assert not doc.diagnostics


@pytest.mark.parametrize("key", ["a$b", "ü2020"])
def test_a_key_latex_cannot_hold_is_shown_not_cited(tmp_path: Path, key: str) -> None:
    bib = f"@misc{{{key},\n  title = {{T}},\n}}\n"
    doc = post(site(tmp_path, bib=bib), "---\nbibliography: refs.bib\n---\n\n"
               f"X <d-cite key=\"{key}\"></d-cite>.\n")
    assert "cannot be used in LaTeX" in warnings_of(doc, "citation-key")[0][1]
    assert "\\citep" not in doc.tex


@needs_tex
def test_references_bibtex_could_not_make_still_show_the_cited_keys(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """bibtex refusing the .aux (here: it names a database other than the one bibtex may
    read) leaves a PDF whose References list the cited keys and why, never a TeX error."""
    doc = post(site(tmp_path), DISTILL)
    monkeypatch.setattr(bibtex, "DATABASE", "another-database")
    text = squash(pdf_text(build(doc, tmp_path / "out.pdf")))
    assert "Quoted keys with spaces [1, 2] here." in text
    assert "bibtex: the .aux names a bibliography database or style md2tex did not write" \
        in text
    assert "[1] mccullagh1989 [2] efron_1975 [3] who2021" in text


@needs_tex
def test_crossref_fields_and_web_addresses_of_al_folio_entries(tmp_path: Path) -> None:
    """A ``crossref``'s fields are inherited (its title as the booktitle); al-folio's
    ``arxiv`` and ``html`` fields give the entry its link when there is no url or DOI."""
    bib = ("@proceedings{conf2020, title = {Proceedings of Things}, year = 2020,\n"
           "  publisher = {ACM}}\n"
           "@inproceedings{paper, author = {Doe, Jane}, title = {A Paper},\n"
           "  crossref = {conf2020}, arxiv = {2101.00001}}\n"
           "@misc{page, title = {A Page}, html = {https://example.org/page}, year = 2021}\n")
    doc = post(site(tmp_path, bib=bib), "---\nbibliography: refs.bib\n---\n\n"
               "Cites <d-cite key=\"paper,page\"></d-cite>.\n")
    text = squash(pdf_text(build(doc, tmp_path / "out.pdf"))).replace(" ", "")
    assert "[1]JaneDoe.APaper.InProceedingsofThings.ACM,2020." in text
    assert "https://arxiv.org/abs/2101.00001" in text
    assert "[2]APage,2021.URLhttps://example.org/page." in text
