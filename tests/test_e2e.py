"""End to end: real posts become real PDFs (pdflatex), read back with poppler as a reader
sees them. The golden cases in ``tests/cases`` are compiled once per session (``built_cases``),
the seed post and the samples once per module.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import BuiltCase
from helpers import (
    CORPUS,
    SAMPLES,
    SEED,
    Word,
    assert_within_margins,
    case_names,
    fonts,
    lines_of,
    needs_corpus,
    needs_tex,
    pdf_image_count,
    pdf_info,
    pdf_text,
    pdf_urls,
    pdf_words,
    run_md2tex,
    squash,
)

import md2tex

pytestmark = needs_tex

Cases = dict[str, BuiltCase]


def word(words: list[Word], text: str, nth: int = 0) -> Word:
    found = [w for w in words if w.text == text]
    assert len(found) > nth, f"{text!r} not in the PDF"
    return found[nth]


# ------------------------------------------------------------------------ every case


@pytest.mark.parametrize("name", case_names())
def test_case_compiles_inside_the_margins(name: str, built_cases: Cases) -> None:
    case = built_cases[name]
    assert case.text.strip(), f"{name}: empty PDF"
    assert_within_margins(case.pdf)
    assert fonts(case.pdf)


# ------------------------------------------------------------------------------ headings


def test_headings_are_block_headings(built_cases: Cases) -> None:
    lines = lines_of(built_cases["headings"].text)
    for heading in ("Top heading one", "Second level", "Third level", "Fourth level",
                    "Fifth level", "Sixth level", "Setext heading"):
        assert heading in lines, f"{heading!r} is not a line of its own (run-in heading?)"
    assert "Paragraph after the smallest heading." in lines
    assert "Heading with code, x2 & 100%" in lines


def test_heading_sizes_follow_levels(built_cases: Cases) -> None:
    _, words = pdf_words(built_cases["headings"].pdf)
    heights = [word(words, w).height for w in ("Top", "Second", "Third", "Fourth", "Text")]
    assert heights[0] > heights[1] > heights[2] >= heights[3] >= heights[4] * 0.99


# -------------------------------------------------------------------------------- inline


def test_inline_constructs_read_back(built_cases: Cases) -> None:
    case = built_cases["inline"]
    flat = squash(case.text)
    assert ("Plain emphasis, underscore emphasis, strong, strong too, both, struck out and "
            "a_b{c}%$#&~^\\ <x> \"q\" 'q' as code.") in flat
    assert "Specials in prose: # $ % & _ { } ~ ^ \\ < > | and \u201cdouble\u201d and " \
        "\u2018single\u2019 quotes. Prices $5 and $10 stay text." in flat
    names = " ".join(fonts(case.pdf))
    assert "Italic" in names and "Bold" in names and "Mono" in names


def test_hard_breaks_start_new_lines(built_cases: Cases) -> None:
    lines = lines_of(built_cases["inline"].text)
    i = lines.index("Hard break with two spaces")
    assert lines[i + 1 : i + 3] == ["next line, with a backslash", "third line."]


def test_links_are_live(built_cases: Cases) -> None:
    # a link broken across lines has one annotation per line
    assert list(dict.fromkeys(pdf_urls(built_cases["inline"].pdf))) == [
        "https://example.com/path_with_underscores?q=1&r=2#frag",
        "https://ref.example.com/a%20b",
        "https://collapsed.example.com",
        "https://autolink.example.org/x_y",
        "mailto:someone@example.com",
        "https://bare.example.net/page",
    ]


# -------------------------------------------------------------------------------- blocks


def test_code_blocks_quotes_and_html(built_cases: Cases) -> None:
    case = built_cases["blocks"]
    lines = lines_of(case.text)
    for line in ("def f(x):", "return x * 2", "# comment with % and $ and \\end{Verbatim}",
                 "tilde fence", "keeps indentation", 'puts "four tildes"',
                 "indented code block", "second line", "A quote with emphasis.",
                 "A nested quote.", "Some inline html text.", "block html text",
                 "plain text fallback"):
        assert line in lines, line
    for gone in ("more", "comment that must vanish", "span", "div"):
        assert gone not in case.text


def test_code_keeps_indentation_and_quotes_are_indented(built_cases: Cases) -> None:
    _, words = pdf_words(built_cases["blocks"].pdf)
    assert word(words, "keeps").x_min > word(words, "tilde").x_min + 5
    assert word(words, "return").x_min > word(words, "def").x_min + 5
    before = word(words, "Before")
    assert word(words, "quote").x_min > before.x_min + 10
    assert word(words, "nested").x_min > word(words, "quote").x_min + 10


def test_lists(built_cases: Cases) -> None:
    lines = lines_of(built_cases["lists"].text)
    for line in ("• first bullet", "– nested bullet", "1. deep ordered", "2. deep ordered two",  # noqa: RUF001
                 "3. starts at three", "4. then four", "\u25a1 open task", "\u22a0 done task",
                 "1. loose item", "with a second paragraph", "2. second loose item"):
        assert line in lines, line
    _, words = pdf_words(built_cases["lists"].pdf)
    assert word(words, "nested").x_min > word(words, "first").x_min + 10
    assert word(words, "deep").x_min > word(words, "nested").x_min + 10


def test_table_alignment(built_cases: Cases) -> None:
    _, words = pdf_words(built_cases["table"].pdf)
    left = [word(words, t).x_min for t in ("Left", "a", "long", "co_de")]
    assert max(left) - min(left) < 0.5
    right = [word(words, t).x_max for t in ("Right", "1", "22", "333")]
    assert max(right) - min(right) < 0.5
    centre = [(word(words, t).x_min + word(words, t).x_max) / 2 for t in ("Centre", "b", "mid")]
    assert max(centre) - min(centre) < 0.5
    assert word(words, "Left").y_min < word(words, "a").y_min < word(words, "long").y_min


def test_footnotes_at_page_bottom(built_cases: Cases) -> None:
    case = built_cases["footnotes"]
    pages, words = pdf_words(case.pdf)
    height = pages[0].height
    note = word(words, "first")
    assert note.y_min > 0.75 * height
    assert word(words, "sentence").y_min < 0.25 * height
    assert "The first note text." in case.text
    assert "Math in a note: a2 + b2 ." in case.text


def test_images(built_cases: Cases) -> None:
    case = built_cases["images"]
    assert pdf_image_count(case.pdf) == 1
    flat = squash(case.text)
    assert "The caption" in flat
    assert "Image: Lost picture images/missing.png" in flat
    assert "Image: Remote picture https://img.example.com/pic.png" in flat
    assert [d.code for d in case.doc.warnings] == ["image-missing", "image-remote"]


def test_long_lines_wrap(built_cases: Cases) -> None:
    flat = squash(built_cases["wrapping"].text).replace(",→ ", "")
    assert 'keyword_argument="a fairly long string value"' in flat
    assert "assign_ moving_average_with_a_long_suffix" in flat or \
        "assign_moving_average_with_a_long_suffix" in flat


def test_non_ascii_code_under_pdflatex(built_cases: Cases) -> None:
    case = built_cases["code_unicode"]
    flat = squash(case.text)
    assert 'name = "café Łódź" # → ≤ α' in flat  # noqa: RUF001
    assert "indented U+1F50 is shown as a placeholder" in flat
    assert [d.code for d in case.doc.warnings] == ["missing-character"]


# ---------------------------------------------------------------------------------- math


def test_kramdown_inline_double_dollar_stays_in_the_sentence(built_cases: Cases) -> None:
    lines = lines_of(built_cases["math_delims"].text)
    assert "Inline kramdown math a1 ∗ b1 sits in this sentence." in lines  # noqa: RUF001
    assert ("Single dollars c1 + d1 are math, but $5 and $10 are prices, and so is $ 3."
            in lines)
    assert "Markdown keeps out of a ∗ b ∗ c, x1 + y1 = z1 , {a b} and p q." in lines  # noqa: RUF001


def test_display_math_is_centred_on_its_own(built_cases: Cases) -> None:
    pages, words = pdf_words(built_cases["math_delims"].pdf)
    middle = pages[0].width / 2
    for w in ("y2", "w4"):
        letter, digit = w[0], w[1]
        first = word(words, letter)
        assert abs((first.x_min + word(words, digit).x_max) / 2 - middle) < 20, w
    inline = word(words, "sentence.")
    sum_sign = next(x for x in words if x.text == "X")  # the \sum glyph
    assert sum_sign.y_min > inline.y_max


def test_amsmath_environments_and_mathjax_fixes(built_cases: Cases) -> None:
    case = built_cases["math_envs"]
    flat = squash(case.text)
    for part in ("(first)", "(row one)", "if n is even", "if n is odd", "y ≥ 0, z ≥ 0",
                 "u=v"):
        assert part in flat, part
    assert "(1)" not in flat, "MathJax numbers nothing; neither does md2tex by default"
    _, words = pdf_words(case.pdf)
    assert word(words, "K").height > 1.4 * word(words, "b", 0).height, "\\LARGE K is large"


def test_dollar_math_off(built_cases: Cases) -> None:
    assert "Costs $x_1$ here, while y2 is still math." in lines_of(
        built_cases["math_nodollar"].text)


# -------------------------------------------------------------------- liquid, metadata


def test_liquid(built_cases: Cases) -> None:
    case = built_cases["liquid"]
    lines = lines_of(case.text)
    for line in ("1", "2", "def f():", "return 1", "puts 'no space'",
                 "Raw markdown with {{ braces }} and r2 .", "After ."):
        assert line in lines, line
    for gone in ("highlight", "include", "footer", "hidden comment", "{%", "endraw"):
        assert gone not in case.text


def test_front_matter_in_pdf(built_cases: Cases) -> None:
    case = built_cases["frontmatter"]
    info = pdf_info(case.pdf)
    assert info["Title"] == "Front & Matter: 100% <Escaped>"
    assert info["Author"] == "Ada Lovelace, Charles Babbage"
    assert info["Keywords"] == "alpha, beta, gamma"
    assert info["Subject"] == "An abstract with $5 and 50% & more."
    lines = lines_of(case.text)
    for line in ("Front & Matter: 100% <Escaped>", "A subtitle_with_underscore", "Ada Lovelace",
                 "Charles Babbage", "19 June 2018", "Abstract",
                 "An abstract with $5 and 50% & more.", "Body text."):
        assert line in lines, line


def test_unicode_under_pdflatex(built_cases: Cases) -> None:
    flat = squash(built_cases["unicode"].text)
    assert "Accents: café, Łódź, Ångström, Dvořák." in flat
    assert "Symbols: → ≤ θ € . . . — “curly”." in flat
    assert "α + β≤γ" in flat  # noqa: RUF001


# ----------------------------------------------------------------------------- the seed


@pytest.fixture(scope="module")
def seed_pdf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    if not SEED.is_file():
        pytest.skip(f"shared corpus not present at {CORPUS}")
    work = tmp_path_factory.mktemp("seed")
    shutil.copy(SEED, work / "post.md")
    proc = run_md2tex(["post.md", "-o", "post.pdf"], cwd=work)
    assert proc.returncode == 0, proc.stderr
    yield work / "post.pdf", pdf_text(work / "post.pdf")


@needs_corpus
def test_seed_reads_right(seed_pdf: tuple[Path, str]) -> None:
    pdf, text = seed_pdf
    flat = squash(text)
    assert "The known variable embedding is a 5 × 5 diagnal matrix" in flat  # noqa: RUF001
    assert "Difference between static_rnn and dynamic_rnn" in lines_of(text)
    for tag in ("(constraint 1)", "(constraint 2)", "(constraint 3)"):
        assert tag in flat
    assert "if n is even" in flat
    for garbage in ("{%", "%}", "highlight", "$$", "\\\\(", "<!--"):
        assert garbage not in text, garbage
    assert pdf_info(pdf)["Title"] == "Amygdala!"
    assert pdf_info(pdf)["Keywords"] == "junk"
    assert_within_margins(pdf)
    assert pdf_urls(pdf) == ["https://jekyllrb.com/docs/home", "https://github.com/jekyll/jekyll",
                             "https://talk.jekyllrb.com/"]


@needs_corpus
def test_seed_continued_fraction_k_is_large(seed_pdf: tuple[Path, str]) -> None:
    pdf, _ = seed_pdf
    _, words = pdf_words(pdf)
    k = [w for w in words if w.text == "K"]
    assert k and max(w.height for w in k) > 14


@needs_corpus
def test_every_corpus_post_converts_without_crashing() -> None:
    """Real posts: each converts to LaTeX or fails with an ordinary InputError."""
    posts = sorted((CORPUS / "jekyll").glob("*/*.md"))[::3]  # a third of them: keep it quick
    if not posts:
        pytest.skip("no jekyll posts in the corpus")
    for path in posts:
        try:
            doc = md2tex.convert_file(path)
        except md2tex.InputError:
            continue
        assert doc.tex.rstrip().endswith("\\end{document}"), path


# ----------------------------------------------------------------------------- samples


@pytest.fixture(scope="module")
def sample_pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    posts = sorted(SAMPLES.glob("*.md"))
    posts = [p for p in posts if p.name != "README.md"]
    if not posts:
        pytest.skip("no samples")
    out = tmp_path_factory.mktemp("samples")

    def one(post: Path) -> tuple[str, Path]:
        pdf = out / (post.stem + ".pdf")
        proc = run_md2tex([post, "-o", pdf])
        assert proc.returncode == 0, f"{post.name}: {proc.stderr}"
        return post.name, pdf

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(pool.map(one, posts))


@pytest.mark.slow
def test_samples_build_and_stay_in_the_margins(sample_pdfs: dict[str, Path]) -> None:
    assert len(sample_pdfs) >= 4
    for name, pdf in sample_pdfs.items():
        assert_within_margins(pdf)
        assert len(squash(pdf_text(pdf))) > 300, name
