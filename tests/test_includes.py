"""Theme includes and plugin tags reach the PDF: figures with captions, Tufte notes, tabs,
citations, site-configured handlers and snippets; and every later line keeps its number."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    TRAP,
    body,
    body_of,
    build,
    codes,
    convert,
    make_png,
    needs_tex,
    pdf_text,
    squash,
    trap_options,
)

import md2tex
from md2tex.markdown import includes
from md2tex.markdown.includes import Call, Made, Notes, register_include, register_tag
from md2tex.markdown.liquid import LiquidContext, LiquidResult, render_liquid


def liquid(src: str, **config: Any) -> LiquidResult:
    result = render_liquid(src, LiquidContext(includes=config))
    return result


def same_lines(src: str, result: LiquidResult) -> None:
    """Everything Liquid wrote before the notes' definitions has the post's line count."""
    text = result.text
    if result.note_lines:
        text = text[: text.index("\n[^md2tex-note-")] if "\n[^md2tex-note-" in text else text
        assert text.rstrip("\n").count("\n") == src.rstrip("\n").count("\n")
    else:
        assert text.count("\n") == src.count("\n")


# --------------------------------------------------------------------------------- figures


@pytest.mark.parametrize("tag", [
    '{% include figure.html path="a.png" caption="The *cap* $x$" %}',
    "{% include figure.html image='a.png' caption='The *cap* $x$' %}",
    '{% include figure.html url="a.png" caption="The *cap* $x$" %}',
    '{% include figure.html src="a.png" caption="The *cap* $x$" %}',
    '{% include figure.html file="a.png" caption="The *cap* $x$" %}',
    '{% include image.html url="a.png" description="The *cap* $x$" %}',
    '{% include marginfigure.html id="mf-1" url="a.png" description="The *cap* $x$" %}',
    "{% figure a.png 'The *cap* $x$' %}",
    "{% maincolumn 'a.png' 'The *cap* $x$' %}",
    "{% marginfigure 'mf-id-1' 'a.png' 'The *cap* $x$' %}",
    '{% figure caption:"The *cap* $x$" %}\n![alt](a.png)\n{% endfigure %}',
])
def test_figure_forms_become_a_figure_with_its_caption(tag: str) -> None:
    src = f"Before.\n\n{tag}\n\nAfter.\n"
    result = liquid(src)
    same_lines(src, result)
    assert '<img src="a.png"' in result.text
    assert "<figcaption>The *cap* $x$</figcaption>" in result.text
    assert not result.diagnostics


def test_figure_parameters_alt_width_and_liquid_values() -> None:
    ctx = LiquidContext(site={"baseurl": "/b"})
    result = render_liquid('{% include figure.html path="{{ site.baseurl }}/i/a.png" '
                           'alt="A dog" width="50%" class="img-fluid rounded" %}\n', ctx)
    assert result.text == ('<!-- --><figure><img src="/b/i/a.png" alt="A dog" width="50%">'
                           "</figure>\n")


def test_a_figure_title_is_a_tooltip_not_a_caption() -> None:
    result = liquid('{% include figure.html path="a.png" title="Hover text" zoomable %}\n')
    assert result.text == '<!-- --><figure><img src="a.png" alt="Hover text"></figure>\n'


def test_bare_parameter_values_are_variables_or_words() -> None:
    ctx = LiquidContext(page={"image": "/i/p.png", "title": "Pic"})
    result = render_liquid("{% assign w = '40%' %}{% include figure.html path=page.image "
                           "caption=page.title width=w %} {% include figure.html "
                           "path=x.png caption=page.nothing %}\n", ctx)
    assert result.text == ('<!-- --><figure><img src="/i/p.png" alt="Pic" width="40%">'
                           '<figcaption>Pic</figcaption></figure> <!-- --><figure>'
                           '<img src="x.png" alt="figure"></figure>\n')


def test_a_figure_is_one_line_of_html_whatever_follows_it() -> None:
    tex = body("Intro.\n{% include figure.html path='a.png' caption='Cap' %}\n```python\n"
               "x = 1\n```\n- item\n{% figure b.png 'Two' %}\nText *after*.\n")
    assert tex.index("\\mdcaption{Cap}") < tex.index("\\begin{Verbatim}")
    assert "\\begin{itemize}" in tex and "\\mdcaption{Two}" in tex
    assert "Text \\emph{after}." in tex and "```" not in tex


def test_figure_of_several_images_and_a_caption_with_html() -> None:
    result = liquid("{% figure a.png,b.png 'Credit: <a href=\"https://x.org\">X</a>, "
                    "for $a<b$, $c < d$' %}\n")
    alt = "Credit: X, for a&lt;b, c &lt; d"  # the caption's words: no tags, no math marks
    assert result.text == (f'<!-- --><figure><img src="a.png" alt="{alt}"><img src="b.png" '
                           f'alt="{alt}"><figcaption>Credit: <a href="https://x.org">X</a>, '
                           "for $a&lt;b$, $c < d$</figcaption></figure>\n")


def test_alt_text_from_a_caption_is_its_words() -> None:
    assert includes.plain_words("Diagram.<br/>Credit: <a href=\"https://w.org/M\">W &amp; M</a>"
                                " and [the *post*](https://x.org/p)") == \
        "Diagram. Credit: W & M and the post"


@needs_tex
def test_placeholder_of_a_figure_shows_its_caption_words_not_tags(tmp_path: Path) -> None:
    """A figure whose image cannot be shown prints its alt text: the caption's words."""
    post = ("{% extfigure https://upload.example.org/d/diagram.svg 'Useful diagram.<br/>Credit:"
            " <a href=\"https://en.example.org/MI\">Wikipedia</a>' %}\n\nAfter.\n")
    doc = convert(post)
    text = squash(pdf_text(build(doc, tmp_path / "ph.pdf")))
    assert "Useful diagram. Credit: Wikipedia" in text and "After." in text
    assert "<" not in text and "href" not in text


def test_figure_caption_is_typeset_as_markdown_and_math(tmp_path: Path) -> None:
    make_png(tmp_path / "a.png")
    doc = convert('Intro.\n\n{% include figure.html path="a.png" caption="A **bold** '
                  'claim: $\\alpha^2 < 1$" %}\nNext line of prose.\n', base_dir=tmp_path)
    tex = body_of(doc.tex)
    assert "\\mdcaption{A \\textbf{bold} claim: $\\alpha^2 < 1$}" in tex
    assert "\\mdincludegraphics" in tex
    assert "Next line of prose." in tex
    assert not doc.diagnostics


def test_figure_block_around_other_markdown_keeps_it_and_adds_the_caption() -> None:
    src = '{% figure caption:"Two views" %}\n![a](a.png) ![b](b.png)\n{% endfigure %}\nText\n'
    result = liquid(src)
    same_lines(src, result)
    assert result.text == ("\n![a](a.png) ![b](b.png)\n<!-- --><figcaption>Two views"
                           "</figcaption>\nText\n")


# ----------------------------------------------------------------------------------- notes


def test_sidenote_with_an_id_is_a_footnote_after_the_body() -> None:
    src = "A claim{% sidenote 'sn-id-1' 'The *proof* of $x$.' %} here.\n\nLast line.\n"
    result = liquid(src)
    same_lines(src, result)
    assert result.text == ("A claim[^md2tex-note-1] here.\n\nLast line.\n"
                           "\n[^md2tex-note-1]: The *proof* of $x$.\n")
    assert result.note_lines == {5: 1}


def test_marginnote_with_an_anchor_keeps_the_anchor_in_the_sentence() -> None:
    result = liquid("See {% marginnote '*this idea*' \"Explained: $\\psi$ is it.\" %} now.\n"
                    '{% include sidenote.html id="s2" note="From the include." %}\n'
                    '{% include marginnote.html id="mn" note="Margin words." %}\n')
    lines = result.text.split("\n")
    assert lines[0] == "See *this idea*[^md2tex-note-1] now."
    assert lines[1] == "[^md2tex-note-2]"
    assert "[^md2tex-note-1]: Explained: $\\psi$ is it." in lines
    assert "[^md2tex-note-2]: From the include." in lines
    assert "[^md2tex-note-3]: Margin words." in lines
    assert result.note_lines == {5: 1, 7: 2, 9: 3}


def test_note_text_is_typeset_in_a_footnote_and_its_errors_name_the_tag_line() -> None:
    doc = convert("Title line.\n\nWords {% marginnote 'mn-1' 'with $\\beta_1$ and $\\nosuch$' "
                  "%} end.\n\nAfter $\\alsonosuch$.\n")
    tex = body_of(doc.tex)
    assert "Words \\footnote{with $\\beta_1$ and" in tex
    errors = [(d.code, d.line) for d in doc.diagnostics]
    assert errors == [("math-undefined", 3), ("math-undefined", 5)]


def test_a_note_inside_raw_html_is_small_text_in_brackets() -> None:
    src = ("<div class=\"box\">\nIn a box{% sidenote 'sn-1' 'Boxed $x$.' %} here.\n</div>\n\n"
           "Out of it{% sidenote 'sn-2' 'Free.' %}.\n")
    result = liquid(src)
    assert result.text.split("\n")[1] == "In a box <small>(Boxed $x$.)</small> here."
    assert result.text.split("\n")[4] == "Out of it[^md2tex-note-1]."
    tex = body(src)
    assert "{\\small (Boxed $x$.)}" in tex and "\\footnote{Free.}" in tex


def test_notes_in_a_false_branch_are_not_kept() -> None:
    result = liquid("{% if nothing %}{% sidenote 'a-1' 'hidden' %}{% endif %}x\n")
    assert result.text == "x\n" and not result.note_lines


# ------------------------------------------------------------------------------------ tabs


def test_tabs_show_each_title_and_keep_the_content() -> None:
    src = ("{% tabs thm %}\n{% tab thm statement %}\nFor all $x$.\n{% endtab %}\n"
           "{% tab thm Full proof %}\n\nBy induction.\n{% endtab %}\n{% endtabs %}\n")
    result = liquid(src)
    same_lines(src, result)
    assert result.text == ("\n**statement**<br>\nFor all $x$.\n\n**Full proof**\n\n"
                           "By induction.\n\n\n")
    assert not result.diagnostics


def test_tab_titles_in_the_latex() -> None:
    tex = body("{% tabs t %}\n{% tab t statement %}\nFor all $x$.\n{% endtab %}\n"
               "{% endtabs %}\n")
    assert "\\textbf{statement}" in tex and "For all $x$." in tex


# ------------------------------------------------------------------------------- citations


@pytest.mark.parametrize(("tag", "keys"), [
    ("{% cite knuth1984 %}", "knuth1984"),
    ("{% cite a b --file refs %}", "a,b"),
    ("{% citep smith2020 -l 23 %}", "smith2020"),
    ("{% citet jones %}", "jones"),
    ("{% reference lamport94 %}", "lamport94"),
])
def test_cite_tags_become_d_cite(tag: str, keys: str) -> None:
    result = liquid(f"As shown {tag}.\n")
    assert result.text == f'As shown <d-cite key="{keys}"></d-cite>.\n'
    assert not result.diagnostics


def test_bibliography_becomes_a_line_of_its_own() -> None:
    result = liquid("Text.\n\n{% bibliography --file refs --cited %}\n")
    assert result.text == "Text.\n\n<d-bibliography></d-bibliography>\n"


# -------------------------------------------------------------------------------- unknown


def test_unknown_include_with_prose_keeps_it_with_a_warning() -> None:
    src = ("Line one.\n\n{% include callout.html type=\"note\" class=\"big box\" "
           "content=\"Remember to **check** $x$.\" %}\n\nLast.\n")
    result = liquid(src)
    same_lines(src, result)
    assert result.text.split("\n")[2] == "Remember to **check** $x$."
    (diag,) = result.diagnostics
    assert diag.code == "liquid-include" and diag.line == 3 and "callout.html" in diag.message


def test_unknown_include_without_prose_is_dropped_with_a_warning() -> None:
    result = liquid("a\n{% include share-buttons.html size=big %}\nb\n")
    assert result.text == "a\n\nb\n"
    assert [(d.code, d.line) for d in result.diagnostics] == [("liquid-include", 2)]


def test_gist_becomes_a_link_with_a_warning() -> None:
    result = liquid("{% gist 4cb2cf1 layer.py %}\n")
    assert result.text == "[Gist: layer.py](https://gist.github.com/4cb2cf1)\n"
    assert [d.code for d in result.diagnostics] == ["liquid-tag"]


def test_long_arguments_are_read_in_linear_time() -> None:
    """Pathological arguments (long runs a backtracking regex would reread) stay fast."""
    word = "a1" * 40_000
    spaces = " " * 80_000
    src = (f"{{% sidenote '{word} x' 'n' %}} {{% figure '{word.replace('1', '.')} x' %}} "
           f"{{% marginnote 'mn-1' 'a{spaces}b' %}} {{% include x.html t='{word} {spaces}' %}}\n")
    start = time.perf_counter()
    result = liquid(src)
    assert time.perf_counter() - start < 2.0
    assert f"[^md2tex-note-2]: a{spaces}b" in result.text


# ------------------------------------------------------------------- the includes setting


def test_setting_names_a_built_in_handler() -> None:
    result = liquid("{% include pic.html src='a.png' caption='Hi' %} {% aside 'a-1' 'Note' %}"
                    " {% include ads.html text='Buy things' %}\n",
                    **{"pic.html": "figure", "aside": "sidenote", "ads": "drop"})
    assert result.text == ('<!-- --><figure><img src="a.png" alt="Hi"><figcaption>Hi</figcaption>'
                           "</figure> [^md2tex-note-1] \n\n[^md2tex-note-1]: Note\n")
    assert not result.diagnostics


def test_setting_snippet_renders_markdown_from_the_parameters() -> None:
    snippet = ("![{{ alt | default('figure') }}](/assets/posts/{{ page.slug }}/{{ args[0] }})"
               "{% if args[1] %}\n*{{ args[1] }}*{% endif %}")
    result = render_liquid("{% figure a.png 'A caption' %}\n{% figure b.png %}\n",
                           LiquidContext(page={"slug": "p"}, includes={"figure": snippet}))
    assert result.text == ("![figure](/assets/posts/p/a.png) *A caption*\n"
                           "![figure](/assets/posts/p/b.png)\n")


@pytest.mark.parametrize(("snippet", "why"), [
    ("{{ 'x' * 100000000 }}", "not allowed"),
    ("{% for i in range(10) %}x{% endfor %}", "for loop"),
    ("{{ ''.__class__ }}", "not available"),
    ("{{ 'a'.ljust(100000000) }}", "not safely callable"),
    ("{% macro f(s) %}{{ f(s ~ s) }}{% endmacro %}{{ f('ab') }}", "macro"),
    ("{% set x = args[0] ~ args[0] %}{{ x }}", "assign"),
    ("{% for a in args %}{% for b in args %}{% endfor %}{% endfor %}", "nested"),
    ("{% for c in page.tags %}{% endfor %}", "over args or params"),
    ("{{ '%s%s' % (args[0], args[0]) }}", "not allowed"),
    ("{{ x | center(100000000) }}", "filter"),
    ("{% if %}", "TemplateSyntaxError"),
])
def test_snippets_are_sandboxed_and_bounded(snippet: str, why: str) -> None:
    result = liquid("Before {% thing 'a b' %} after.\n", thing=snippet)
    assert result.text == "Before  after.\n"
    (diag,) = result.diagnostics
    assert diag.code == "liquid-tag" and why in diag.message


def test_a_site_snippet_finds_figures_where_its_plugin_keeps_them(tmp_path: Path) -> None:
    """A plugin that looks images up in ``/assets/posts/<slug>/``: one snippet says so."""
    make_png(tmp_path / "assets" / "posts" / "bias" / "one.png")
    make_png(tmp_path / "assets" / "posts" / "bias" / "two.png")
    post = tmp_path / "_posts" / "2019-07-15-bias.md"
    post.parent.mkdir()
    snippet = ('<!-- --><figure>{% for f in args[0].split(",") %}<img src="/assets/posts/'
               '{{ page.slug }}/{{ f }}">{% endfor %}<figcaption>{{ args[1] }}</figcaption>'
               "</figure>")
    doc = md2tex.convert("Text.\n\n{% figure one.png,two.png 'Both, with $x^2$.' %}\nMore.\n",
                         md2tex.Options(base_dir=post.parent, site_root=tmp_path,
                                        includes={"figure": snippet}), path=str(post))
    tex = body_of(doc.tex)
    assert tex.count("\\mdincludegraphics") == 2
    assert "\\mdcaption{Both, with $x^2$.}" in tex
    assert not doc.diagnostics


def test_snippet_output_is_bounded() -> None:
    result = liquid("{% thing '" + "x" * 5000 + "' %}\n",
                    thing="{% for a in args %}{{ a }}{{ a }}{{ a }}{{ a }}{{ a }}{% endfor %}")
    assert result.text == "\n"
    assert "more than 20,000 characters" in result.diagnostics[0].message


def test_a_bad_setting_entry_is_reported_at_its_first_use() -> None:
    result = liquid("a\n{% include figure.html path='a.png' %}\n{% include figure.html "
                    "path='b.png' %}\n", **{"figure.html": "nosuchhandler", "other": 3})
    assert result.text.count("<!-- --><figure>") == 2
    assert [(d.code, d.line) for d in result.diagnostics] == [("liquid-include", 2)]
    assert "nosuchhandler" in result.diagnostics[0].message


def test_includes_setting_through_options_and_config(tmp_path: Path) -> None:
    from md2tex.site.config import load_site_config

    (tmp_path / "_config.yml").write_text("title: Site\n", encoding="utf-8")
    (tmp_path / "md2tex.yaml").write_text(
        "includes:\n  note.html: \"> **Note.** {{ content }}\"\n", encoding="utf-8")
    config = load_site_config(tmp_path)
    assert config.found and not config.warnings  # a config found in the site may set it
    options = config.apply()
    assert "note.html" in options.includes
    doc = md2tex.convert('{% include note.html content="Mind $x$." %}\n', options)
    assert "\\textbf{Note.} Mind $x$." in body_of(doc.tex)
    assert not doc.diagnostics


# ----------------------------------------------------------------- handlers from Python


@pytest.fixture
def own_handlers() -> Iterator[None]:
    before = (dict(includes.INCLUDES), dict(includes.TAGS))
    yield
    for table, saved in zip((includes.INCLUDES, includes.TAGS), before, strict=True):
        table.clear()
        table.update(saved)


def test_library_users_register_their_own_handlers(own_handlers: None) -> None:
    @register_include("warning-box.html")
    def box(call: Call, notes: Notes) -> Made:
        return Made(f"**Warning:** {call.param('text')}", own_block=True)

    @register_tag("kbd")
    def kbd(call: Call, notes: Notes) -> Made:
        return Made(f"`{'+'.join(call.args)}`\n" + notes.add("A key."))

    @register_tag("sidenote", replace=True)
    def plain(call: Call, notes: Notes) -> Made:
        return Made(f"({call.args[-1]})")

    result = liquid("{% include warning-box.html text='Hot $T$' %}\n\nPress {% kbd Ctrl C %}."
                    " {% sidenote 'x-1' 'inline' %}\n")
    assert result.text.startswith("**Warning:** Hot $T$\n\nPress `Ctrl+C` [^md2tex-note-1]. "
                                  "(inline)\n")
    with pytest.raises(ValueError, match="kbd"):
        register_tag("kbd")(kbd)
    src = "Text above\n{% include warning-box.html text='Mind *this*.' %}\nText below\n"
    squeezed = liquid(src)
    assert squeezed.text == ("Text above\n<!-- -->**Warning:** Mind *this*.\nText below\n")
    tex = body(src)
    assert "Text above\n\n\\textbf{Warning:} Mind \\emph{this}.\n\nText below" in tex


# -------------------------------------------------------------------------------- PDFs

POST = r"""---
title: Includes reach the paper
---
Opening paragraph.

{% include figure.html path="dot.png" caption="Figure caption with $\alpha + 1$" %}

A sentence with a note{% sidenote 'sn-1' 'Sidenote words with $\beta^2$ inside.' %} in it.
A marginal {% marginnote '*anchor words*' 'Margin explanation text.' %} continues.

{% tabs demo %}
{% tab demo Statement %}
Tab statement content.
{% endtab %}
{% tab demo Proof %}
Tab proof content.
{% endtab %}
{% endtabs %}

As argued {% cite knuth84 %} and {% include pullquote.html quote="Pulled quote prose here." %}

Closing line with an error $\nosuchmacro$ here.
"""


@needs_tex
def test_includes_reach_the_pdf_and_later_lines_keep_their_numbers(tmp_path: Path) -> None:
    make_png(tmp_path / "dot.png")
    doc = convert(POST, base_dir=tmp_path)
    error_line = POST.split("\n").index("Closing line with an error $\\nosuchmacro$ here.") + 1
    assert ("math-undefined", error_line) in [(d.code, d.line) for d in doc.diagnostics]
    assert "liquid-include" in codes(doc)  # the pullquote's prose is kept, with a warning
    text = squash(pdf_text(build(doc, tmp_path / "post.pdf")))
    for seen in ("Figure caption with \u03b1 + 1", "Sidenote words with \u03b2", "inside.",
                 "anchor words", "Margin explanation text.", "Statement",
                 "Tab statement content.", "Proof", "Tab proof content.",
                 "Pulled quote prose here.", "Closing line with an error"):
        assert seen in text, seen


@needs_tex
def test_a_tex_error_after_includes_names_its_markdown_line(tmp_path: Path) -> None:
    make_png(tmp_path / "dot.png")
    post = POST.replace("$\\nosuchmacro$", TRAP)  # strict: no warnings before it
    post = "\n".join("" if line.startswith("As argued") else line for line in post.split("\n"))
    line = post.split("\n").index(f"Closing line with an error {TRAP} here.") + 1
    doc = md2tex.convert(post, trap_options(tmp_path, base_dir=tmp_path), path="post.md")
    with pytest.raises(md2tex.BuildError) as failed:
        md2tex.build_pdf(doc, tmp_path / "post.pdf")
    assert [d.line for d in failed.value.diagnostics if d.severity == "error"][:1] == [line]


@needs_tex
def test_a_tex_error_inside_a_note_names_the_line_of_its_tag(tmp_path: Path) -> None:
    post = ("Title paragraph.\n\nFirst line of a paragraph\nsecond line with a note"
            f"{{% sidenote 'sn-1' 'Bad {TRAP} here.' %}} and\nthird line.\n\nLast.\n")
    doc = md2tex.convert(post, trap_options(tmp_path), path="post.md")
    with pytest.raises(md2tex.BuildError) as failed:
        md2tex.build_pdf(doc, tmp_path / "post.pdf")
    assert [(d.code, d.line) for d in failed.value.diagnostics] == [("tex-error", 4)]
