"""Jekyll conventions: Liquid output and tags, post_url, figure/TOC includes, kramdown IALs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from helpers import CORPUS, needs_corpus

import md2tex
from md2tex.markdown.kramdown import attributes, strip_ials, width_fraction
from md2tex.markdown.liquid import LiquidContext, PostRef, render_liquid
from md2tex.site.config import load_site_config

SITE = {"url": "https://blog.example.org", "baseurl": "/notes"}


def liquid(src: str, **kw: object) -> tuple[str, list[str]]:
    ctx = LiquidContext(site=SITE, page={"title": "T", "tags": ["a", "b"], "n": 3}, **kw)  # type: ignore[arg-type]
    result = render_liquid(src, ctx)
    assert result.text.count("\n") >= src.count("\n")
    return result.text, [d.code for d in result.diagnostics]


def test_output_tags_and_filters() -> None:
    text, diags = liquid(
        "{{ site.url }}{{ site.baseurl }}/a {{ '/img/x.png' | relative_url }} "
        "{{ '/y' | absolute_url }} {{ \"b\" | prepend: site.baseurl | append: '.html' }} "
        "{{ page.title | downcase }} {{ page.tags }}")
    assert text == ("https://blog.example.org/notes/a /notes/img/x.png "
                    "https://blog.example.org/notes/y /notesb.html t a, b")
    assert diags == []


def test_missing_site_url_is_empty_and_unknown_variable_warns() -> None:
    result = render_liquid("{{ site.baseurl }}/x {{ page.nothing }}|", LiquidContext())
    assert result.text == "/x |"
    assert [d.code for d in result.diagnostics] == ["liquid-variable"]


def test_conditions_capture_assign_keep_lines() -> None:
    src = ("{% capture greet %}Hello *there*{% endcapture %}\n"
           "{% assign k = 5 %}\n"
           "{% if page.title == 'T' and k > 2 %}yes{% else %}no{% endif %}\n"
           "{% unless page.missing %}U{% endunless %}\n"
           "{% if site.nope %}\nhidden {{ site.nothing }}\n{% elsif page.n >= 3 %}E{% endif %}\n"
           "{% case page.title %}{% when 'X' %}x{% when 'T', 'Z' %}t{% endcase %}\n"
           "{{ greet }} {{ k }}\n")
    text, diags = liquid(src)
    assert text.count("\n") == src.count("\n")
    lines = text.split("\n")
    assert lines[2] == "yes" and lines[3] == "U" and lines[6] == "E" and lines[7] == "t"
    assert "hidden" not in text
    assert lines[8] == "Hello *there* 5"
    assert diags == []


def test_comment_for_and_unknown_tags_leave_no_text() -> None:
    text, diags = liquid("a{% comment %} x {% endcomment %}b\n{% for p in site.posts %}\n"
                         "{{ p.title }}\n{% endfor %}\n{% seo %}{% include note.html %}c")
    assert text == "ab\n\n\n\nc"
    assert diags == ["liquid-tag", "liquid-tag", "liquid-include"]


def test_post_url_in_link_and_bare_and_from_batch() -> None:
    text, _ = liquid("[x]({% post_url 2018-02-19-a-long-peek %}) and "
                     "{% post_url 2018-02-19-a-long-peek %}")
    url = "https://blog.example.org/notes/2018/02/19/a-long-peek.html"
    assert text == f"[x]({url}) and [A long peek]({url})"
    posts = {"2018-02-19-a-long-peek": PostRef("A Long Peek into RL", "peek.pdf")}
    text, _ = liquid("see {% post_url 2018-02-19-a-long-peek %}", posts=posts)
    assert text == "see [A Long Peek into RL](peek.pdf)"


def test_figure_include_and_toc_include() -> None:
    src = ("intro\n\n{% include figure.html path=\"/img/a.png\" caption=\"A cap\" "
           "width=\"50%\" %}\n\n{% include toc.html %}\n")
    result = render_liquid(src, LiquidContext())
    assert result.toc
    assert result.text.count("\n") == src.count("\n")
    assert ('<!-- --><figure><img src="/img/a.png" alt="A cap" width="50%">'
            "<figcaption>A cap</figcaption></figure>") in result.text
    assert "\n{:toc}\n" in result.text


def test_post_url_after_site_baseurl_is_one_address_with_its_fragment() -> None:
    text, diags = liquid("[see]({{ site.baseurl }}{% post_url 2019-01-02-x %}#part) and "
                         "[two]({{ site.url }}{{ site.baseurl }}{% post_url 2019-01-02-x %})")
    url = "https://blog.example.org/notes/2019/01/02/x.html"
    assert text == f"[see]({url}#part) and [two]({url})"
    assert diags == []


def test_post_url_after_site_baseurl_and_a_space_is_still_the_address() -> None:
    # Jekyll writes "(/notes /2019/...)", which kramdown reads as one (spaced) address
    text, diags = liquid("an [attention]({{ site.baseurl}} {% post_url 2019-01-02-x %})-style"
                         " and [b]( {{ site.url }} {{ site.baseurl }}\t{% post_url 2019-01-02-x "
                         "%}#f)")
    url = "https://blog.example.org/notes/2019/01/02/x.html"
    assert text == f"an [attention]( {url})-style and [b](  \t{url}#f)"
    assert diags == []


def test_post_url_follows_the_site_permalink_style() -> None:
    def address(style: str) -> str:
        site = {**SITE, "permalink": style}
        return render_liquid("({% post_url 2019-03-04-my-post %})",
                             LiquidContext(site=site)).text

    base = "(https://blog.example.org/notes"
    assert address("pretty") == f"{base}/2019/03/04/my-post/)"
    assert address("none") == f"{base}/my-post.html)"
    assert address("/articles/:title") == f"{base}/articles/my-post)"
    assert address("/:year/:i_month/:title/") == f"{base}/2019/3/my-post/)"


def test_post_url_without_a_known_site_url_leaves_only_the_link_text() -> None:
    doc = md2tex.convert("See [the earlier post]({{ site.baseurl }}{% post_url 2019-01-02-x "
                         "%}#frag) and {% post_url 2019-01-02-older-one %}.\n",
                         md2tex.Options(site={"baseurl": "/blog"}))
    body = doc.tex.split("\\begin{document}")[1]
    assert "See the earlier post and Older one." in body
    assert "\\href" not in body and "2019" not in body
    assert not doc.diagnostics


def test_link_tag_names_posts_and_pages() -> None:
    text, _ = liquid("[a]({% link _posts/2016-07-26-name.md %}) "
                     "[b]({{ site.baseurl }}{% link about.md %}) [c]({% link docs/index.md %})")
    assert text == ("[a](https://blog.example.org/notes/2016/07/26/name.html) "
                    "[b](https://blog.example.org/notes/about.html) "
                    "[c](https://blog.example.org/notes/docs/)")


def test_ial_parsing_and_widths() -> None:
    assert attributes('style="width: 80%;" class="center"') == {
        "style": "width: 80%;", "class": "center"}
    assert attributes(".right #top toc") == {"class": "right", "id": "top", "toc": ""}
    assert width_fraction("80%") == 0.8
    assert width_fraction("350px") == 0.5
    assert width_fraction("350") == 0.5
    assert width_fraction("5000px") == 1.0
    assert width_fraction("auto") is None
    image: dict[str, Any] = {"type": "image", "attrs": {"url": "a.png"}, "children": []}
    out, toc = strip_ials([image, {"type": "softbreak"},
                           {"type": "text", "raw": '{: style="width: 60%;"}'}])
    assert out == [image] and not toc and image["attrs"]["width_hint"] == 0.6


def test_document_consumes_ials_and_builds_toc() -> None:
    doc = md2tex.convert(
        "---\ntitle: T\n---\n* TOC\n{:toc}\n\n## First {#first}\n\nText {:.right}\n"
        "{: class=\"info\"}\n\n![pic](nowhere.png)\n{: style=\"width: 50%\"}\n\n"
        "*Fig. 1.*{:.image-caption}\n\n## Second\n\n{::options parse_block_html=\"true\" /}\n",
        md2tex.Options())
    body = doc.tex.split("\\begin{document}")[1]
    assert "\\tableofcontents" in body
    assert "{:" not in body and "{::" not in body
    assert "toc" in doc.features
    assert "\\RerunFileCheck" in doc.tex


# ------------------------------------------------------------------------- the corpus

JEKYLL = CORPUS / "jekyll"
#: the theme and plugin tags the corpus sites use that md2tex shows (not warned about)
SHOWN = ("marginnote", "sidenote", "tabs", "tab", "cite", "figure", "extfigure", "toc.html")


def _corpus_posts() -> list[tuple[str, Path]]:
    posts = []
    for site in sorted(p for p in JEKYLL.iterdir() if p.is_dir()) if JEKYLL.is_dir() else []:
        for post in sorted(site.rglob("*.md")):
            text = post.read_text(encoding="utf-8", errors="replace")
            if re.search(r"\{%-?\s*(?:marginnote|tabs?|cite|figure|extfigure)\b", text):
                posts.append((site.name, post))
    return posts


@needs_corpus
def test_corpus_theme_tags_reach_the_document() -> None:
    """Every Tufte note of the corpus becomes a footnote, every tab title and citation is
    there, and none of these tags is reported as left out."""
    checked = 0
    for site, post in _corpus_posts():
        config = load_site_config(JEKYLL / site, JEKYLL / f"{site}.md2tex.yaml")
        text = post.read_text(encoding="utf-8")
        doc = md2tex.convert(text, config.apply(md2tex.Options(base_dir=post.parent)),
                             path=str(post))
        left_out = [d.message for d in doc.diagnostics if d.code.startswith("liquid-")
                    and any(f"{{% {name} " in d.message or f"{{% {name}}}" in d.message
                            or f"include {name}" in d.message for name in SHOWN)]
        assert not left_out, (post.name, left_out)
        shown = re.sub(r"<!--.*?-->", "", text, flags=re.S)  # a commented-out note is hidden
        notes = len(re.findall(r"\{%-?\s*(?:marginnote|sidenote)\b", shown))
        # a note inside raw HTML is small text in brackets (Markdown reads no footnote there)
        assert doc.tex.count("\\footnote{") + doc.tex.count("{\\small (") >= notes, post.name
        assert "md2tex-note" not in doc.tex, post.name  # no reference left unread
        tabs = len(re.findall(r"\{%-?\s*tab\s", shown))
        assert doc.tex.count("\\textbf{") >= tabs, post.name
        checked += 1
    assert checked >= 20
