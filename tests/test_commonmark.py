"""Every CommonMark spec example converts and compiles without a TeX error.

Each example is converted on its own (they must not influence each other); the bodies are
then typeset together, 100 to a document, each in its own group after a heading, under a
preamble that loads every optional feature. A failing batch is bisected to name the examples.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import md2tex
from md2tex.document import Document

SPEC = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "commonmark" / "spec.json"
BATCH = 100

pytestmark = [
    pytest.mark.skipif(not SPEC.is_file(), reason=f"{SPEC} not present"),
]

#: a post that switches on every feature flag, so its preamble fits every example
ALL_FEATURES = """# H

| a | b |
|---|---|
| 1 | 2 |

```python
x = 1
```

~~s~~ [l](http://x.y) ![i](nothing.png) $x^2$ <http://a.b>

> q

1. a
   - b
     - c
       - d
         - e

- [ ] t
- [x] u

x[^1]

[^1]: n

term
: def
"""


def _examples() -> list[dict[str, Any]]:
    return list(json.loads(SPEC.read_text(encoding="utf-8"))) if SPEC.is_file() else []


def _split(tex: str) -> tuple[str, str]:
    head, _, rest = tex.partition("\\begin{document}")
    body, _, _ = rest.rpartition("\\end{document}")
    return head, body


def _body(doc: Document) -> str:
    body = _split(doc.tex)[1]
    # titles/dates the template prints from front matter are irrelevant here
    return body.replace("\\maketitle", "")


def test_every_example_converts() -> None:
    failures = []
    for ex in _examples():
        try:
            doc = md2tex.convert(ex["markdown"])
        except md2tex.InputError as exc:
            # "---\nFoo\n---" opens a post with front matter that is not a mapping: Jekyll
            # reads it as front matter too, and md2tex says so clearly
            if [d.code for d in exc.diagnostics] != ["front-matter"]:
                failures.append((ex["example"], str(exc)))
            continue
        if not doc.ok:
            failures.append((ex["example"], [d.format() for d in doc.errors]))
    assert failures == []


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex")
@pytest.mark.parametrize("start", range(0, 700, BATCH))
def test_examples_compile(start: int, tmp_path: Path) -> None:
    examples = _examples()[start:start + BATCH]
    if not examples:
        pytest.skip("no examples in this range")
    base = md2tex.convert(ALL_FEATURES)
    head = _split(base.tex)[0]
    bodies = {}
    for ex in examples:
        try:
            doc = md2tex.convert(ex["markdown"])
        except md2tex.InputError:
            continue  # checked by test_every_example_converts
        bodies[ex["example"]] = _body(doc)
        assert not doc.resources

    def build(numbers: list[int]) -> str | None:
        parts = [f"\\section*{{Example {n}}}\n\\begingroup\n{bodies[n]}\n\\endgroup\n"
                 for n in numbers]
        tex = head + "\\begin{document}\n" + "\n".join(parts) + "\\end{document}\n"
        doc = Document(tex=tex, meta={}, features=base.features, diagnostics=(),
                       resources={}, options=base.options)
        try:
            md2tex.build_pdf(doc, tmp_path / "batch.pdf", timeout=60)
        except md2tex.BuildError as exc:
            return str(exc)
        return None

    def failing(numbers: list[int]) -> list[tuple[int, str]]:
        error = build(numbers)
        if error is None:
            return []
        if len(numbers) == 1:
            return [(numbers[0], error)]
        mid = len(numbers) // 2
        return failing(numbers[:mid]) + failing(numbers[mid:])

    assert failing(sorted(bodies)) == []
