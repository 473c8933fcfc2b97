"""Properties: any text converts or is refused with a diagnostic; escaped prose reads back."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import md2tex
from md2tex.document import Document
from md2tex.escape import escape_text

MARKDOWNISH = st.text(
    alphabet=st.one_of(st.sampled_from(list("*_`$\\{}[]()<>!#|~^&%-+=:>\n \t\"'0123456789")),
                       st.characters(codec="utf-8")),
    max_size=300)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=MARKDOWNISH, safe=st.booleans())
def test_any_text_is_a_document_or_an_input_error(text: str, safe: bool) -> None:
    try:
        doc = md2tex.convert(text, md2tex.Options(safe=safe))
    except md2tex.InputError as exc:
        assert exc.diagnostics
    else:
        assert isinstance(doc, Document)
        assert "\\begin{document}" in doc.tex


PROSE = st.text(alphabet=st.sampled_from(
    list("abcXYZ019\\{}$&#^_%~<>|[]`\"',.;:!?()-+=/*@")), min_size=1, max_size=40)


@pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("pdftotext") is None,
                    reason="needs pdflatex and pdftotext")
@settings(max_examples=3, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(strings=st.lists(PROSE, min_size=20, max_size=40))
def test_escaped_prose_reads_back(strings: list[str], tmp_path_factory: pytest.TempPathFactory
                                  ) -> None:
    """Many strings in one PDF, one per paragraph, each between markers."""
    base = md2tex.convert("x\n")
    head = base.tex.partition("\\begin{document}")[0]
    body = "\n\n".join(f"BEGIN{i}:{escape_text(s)}:END{i}" for i, s in enumerate(strings))
    tex = head + "\\begin{document}\n\\raggedright\n" + body + "\n\\end{document}\n"
    doc = Document(tex=tex, meta={}, features=base.features, diagnostics=(), resources={},
                   options=base.options)
    out = tmp_path_factory.mktemp("prose") / "p.pdf"
    md2tex.build_pdf(doc, out)
    text = subprocess.run(["pdftotext", "-raw", str(out), "-"], capture_output=True,
                          text=True, check=True).stdout
    flat = "".join(text.split())
    for i, s in enumerate(strings):
        got = flat.split(f"BEGIN{i}:", 1)[1].split(f":END{i}", 1)[0]
        want = "".join(s.split())
        # pdftotext turns typographic quotes back into these
        got = got.replace("\u2019", "'").replace("\u2018", "`").replace("\u201c", '"') \
            .replace("\u201d", '"')
        assert got == want, (s, got)
