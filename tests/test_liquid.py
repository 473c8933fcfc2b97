"""liquid.py: Jekyll's Liquid layer, applied before Markdown, keeping every line where it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import body, body_of, build, codes, convert, needs_tex, pdf_text
from hypothesis import given, settings
from hypothesis import strategies as st

from md2tex.markdown.liquid import NOTE_KEY, LiquidContext, LiquidResult, render_liquid


def fenced(text: str) -> str:
    out: str = render_liquid(text).text
    return out


# ------------------------------------------------------------------------------ highlight


@pytest.mark.parametrize("src", [
    "{% highlight python %}\nx = 1\n{% endhighlight %}\n",
    "{%highlight python %}\nx = 1\n{% endhighlight%}\n",
    "{%highlight python%}\nx = 1\n{%endhighlight%}\n",
    "{%- highlight python -%}\nx = 1\n{%- endhighlight -%}\n",
    "{%  highlight   python  %}\nx = 1\n{%  endhighlight  %}\n",
])
def test_highlight_spellings_become_fenced_code(src: str) -> None:
    assert fenced(src) == "```python\nx = 1\n```\n"


@pytest.mark.parametrize("args", ["linenos", "linenos=table", "linenos=inline"])
def test_highlight_linenos_is_honoured(args: str) -> None:
    src = f"{{% highlight ruby {args} %}}\nputs 1\n{{% endhighlight %}}\n"
    assert fenced(src).startswith("```ruby linenos\n")
    assert "numbers=left" in body(src)


def test_highlight_without_linenos_has_no_numbers() -> None:
    assert "numbers=left" not in body("{% highlight ruby %}\nputs 1\n{% endhighlight %}\n")


def test_highlight_keeps_code_verbatim() -> None:
    code = "x = '{{ not liquid }}'  # {% not a tag %}\n\n\ty = `cmd` * $z$ \\\\ _u_\n"
    src = "{% highlight python %}\n" + code + "{% endhighlight %}\n"
    out = fenced(src)
    assert out == "```python\n" + code + "```\n"


def test_raw_inside_highlight_leaves_its_content_and_no_tags() -> None:
    # Liquid renders a highlight block: {% raw %} protects the Liquid shown as code
    src = ("Put this in head.html:\n\n{% highlight html %}\n{% raw %}\n{% if page.img %}\n"
           "  <meta content=\"{{ page.img }}\" />\n{% endif %}\n{% endraw %}\n"
           "{% endhighlight %}\nAfter.\n")
    out = fenced(src)
    # Jekyll drops the code's first and last line breaks; the lines stay where they were
    assert out == ("Put this in head.html:\n\n\n```html\n{% if page.img %}\n"
                   "  <meta content=\"{{ page.img }}\" />\n{% endif %}\n```\n\nAfter.\n")
    # an endraw inside raw text ends it; a raw never closed stays as written
    assert fenced("{% highlight liquid %}\n{% raw %}{% raw %}{% endraw %} "
                  "{% raw %}x\n{% endhighlight %}\n") == \
        "```liquid\n{% raw %} {% raw %}x\n```\n"


@needs_tex
def test_raw_inside_highlight_pdf(tmp_path: Path) -> None:
    src = ("Template:\n\n{% highlight html %}\n{% raw %}\n{% if page.img %}\n"
           "<meta content=\"{{ page.img }}\" />\n{% endif %}\n{% endraw %}\n"
           "{% endhighlight %}\n\nThe end.\n")
    text = pdf_text(build(convert(src), tmp_path / "raw.pdf"))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert lines[:5] == ["Template:", "{% if page.img %}", "<meta content=\"{{ page.img }}\" />",
                         "{% endif %}", "The end."]
    assert "raw" not in text


def test_highlight_code_with_backtick_fences_gets_longer_fence() -> None:
    src = "{% highlight markdown %}\n```\ninner\n```\n{% endhighlight %}\n"
    out = fenced(src)
    assert out.startswith("````markdown\n") and out.rstrip().endswith("````")
    assert body(src).count("\\begin{Verbatim}") == 1


def test_highlight_inside_list_item_stays_in_the_item() -> None:
    src = "- item\n  {% highlight python %}\n  x = 1\n  {% endhighlight %}\n- next\n"
    doc = convert(src)
    tex = body_of(doc.tex)
    assert tex.count("\\begin{Verbatim}") == 1
    begin = tex.index("\\begin{Verbatim}")
    assert tex.index("\\begin{itemize}") < begin < tex.index("\\end{itemize}")
    # no blank code line from the indentation before {% endhighlight %}
    assert "\\PY{l+m+mi}{1}\n\\end{Verbatim}" in tex
    assert "\\item{} %L5\nnext" in tex


def test_highlight_right_after_text_starts_a_code_block() -> None:
    src = "via\n{% highlight python %}\nf(x)\n{% endhighlight %}\nthen text.\n"
    tex = body(src)
    assert tex.index("via") < tex.index("\\begin{Verbatim}") < tex.index("then text.")


def test_unclosed_highlight_warns() -> None:
    doc = convert("Text\n\n{% highlight python %}\nx = 1\n")
    assert "liquid-unclosed" in codes(doc)
    assert "\\begin{Verbatim}" in doc.tex


def test_seed_style_highlights_all_become_verbatim() -> None:
    src = ("{% highlight python %}\na = 1\n{% endhighlight %}\n\n"
           "{%highlight python %}\nb = 2\n{% endhighlight %}\n\n"
           "{% highlight bash %}\ngem install rake\n{% endhighlight%}\n")
    doc = convert(src)
    assert body_of(doc.tex).count("\\begin{Verbatim}") == 3
    assert "highlight" not in body_of(doc.tex)
    assert not doc.diagnostics


# ------------------------------------------------------------------------------- raw etc.


def test_raw_is_unwrapped_and_its_content_is_markdown() -> None:
    doc = convert("{% raw %}\nSome *emph* and {{ braces }} and {% tag %} and $$x^2$$.\n"
                  "{% endraw %}\n")
    tex = body_of(doc.tex)
    assert "\\emph{emph}" in tex
    assert "\\{\\{ braces \\}\\}" in tex
    assert "\\{\\% tag \\%\\}" in tex
    assert "$x^2$" in tex
    assert not doc.diagnostics


def test_inline_raw() -> None:
    assert "\\{\\{ x \\}\\}" in body("Use {% raw %}{{ x }}{% endraw %} in templates.\n")


def test_comment_is_dropped() -> None:
    doc = convert("a\n\n{% comment %}\nsecret\n{% endcomment %}\n\nb\n")
    assert "secret" not in doc.tex
    assert not doc.diagnostics


@pytest.mark.parametrize("tag", ["{% youtube abc123 %}", "{% vimeo 12345 %}",
                                 "{% twitter https://x.org/status/1 %}"])
def test_unknown_tag_warns_at_its_line_and_leaves_no_text(tag: str) -> None:
    doc = convert(f"Line one.\n\nBefore {tag} after.\n")
    tex = body_of(doc.tex)
    assert "{%" not in tex and "\\{\\%" not in tex
    name = tag.split()[1]
    assert name not in tex
    assert "Before" in tex and "after." in tex
    (diag,) = doc.diagnostics
    assert diag.code == "liquid-tag" and diag.line == 3
    assert name in diag.message


def test_site_and_page_variables() -> None:
    ctx = LiquidContext(site={"url": "https://blog.example", "baseurl": "/b", "title": "S"},
                        page={"title": "P"})
    out = render_liquid("{{ site.title }}/{{ page.title }} "
                        "{{ '/img/x.png' | relative_url }} {{ '/x' | absolute_url }}\n",
                        ctx).text
    assert out == "S/P /b/img/x.png https://blog.example/b/x\n"


def test_page_variables_come_from_front_matter() -> None:
    assert "My title here" in body("---\ntitle: My title\n---\n{{ page.title }} here\n")


def test_unknown_variable_warns_and_is_dropped() -> None:
    doc = convert("a {{ site.nothing }} b\n")
    assert "nothing" not in body_of(doc.tex)
    assert codes(doc) == ["liquid-variable"]


def test_double_braces_in_math_are_not_liquid() -> None:
    doc = convert("$${{a}}^{{b}}$$ and $x^{{2}}$\n")
    assert "${{a}}^{{b}}$" in body_of(doc.tex)
    assert "$x^{{2}}$" in body_of(doc.tex)
    assert not doc.diagnostics


# ---------------------------------------------------------------------- line preservation

_PIECES = [
    "text line", "", "{% raw %}", "{% endraw %}", "{% comment %}hidden{% endcomment %}",
    "{% comment %}\nmulti\nline\n{% endcomment %}", "{{ site.title }}",
    "{{ page.x | append: 'y' }}",
    "{% youtube id %}", "{% highlight python %}\ncode()\n{% endhighlight %}",
    "{%highlight c%}\nint x;\n\n{%endhighlight%}", "{% raw %}{{ kept }}{% endraw %}",
    "$$\\frac{a}{b}$$", "- list item",
    '{% include figure.html path="a.png" caption="Cap *b* $x$" %}',
    "A note{% sidenote 'sn-1' 'Note with $y$.' %} here.", "{% marginnote 'words here' 'More.' %}",
    "{% tabs t %}", "{% tab t Title words %}", "{% endtab %}", "{% endtabs %}",
    "{% cite k1 k2 %}", "{% bibliography %}", '{% include callout.html content="Some prose." %}',
    '{% figure caption:"C" %}\n![a](a.png)\n{% endfigure %}',
    "[x]({{ site.baseurl }}{% post_url 2019-01-02-x %}#f)", "{% gist abc12 f.py %}",
]


def before_notes(result: LiquidResult) -> str:
    """Liquid's text without the notes' footnote definitions it appends after the body."""
    cut = result.text.find(f"\n[^{NOTE_KEY}1]: ") if result.note_lines else -1
    return result.text if cut < 0 else result.text[: cut]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12))
def test_liquid_keeps_the_number_of_lines(pieces: list[str]) -> None:
    src = "\n".join(pieces) + "\n"
    out = before_notes(render_liquid(src, LiquidContext(site={"title": "T"})))
    assert out.count("\n") == src.count("\n")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=8))
def test_text_after_liquid_keeps_its_markdown_line(pieces: list[str]) -> None:
    src = "\n".join(pieces) + "\n\nZZMARK end\n"
    target = src.split("\n").index("ZZMARK end") + 1
    tex = body_of(convert(src, site={"title": "T"}).tex)
    lines = tex.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("ZZMARK"))
    assert lines[at - 1] == f"%L{target}"
