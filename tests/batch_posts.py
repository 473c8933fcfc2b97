"""Small self-written posts for the batch, config and format-cache tests."""

from __future__ import annotations

import shutil
from pathlib import Path

HAVE_PDFLATEX = shutil.which("pdflatex") is not None

GOOD = """---
title: A small note on sums
author: Test Writer
---

The sum of the first $n$ odd numbers is $n^2$:

$$\\sum_{k=1}^{n} (2k-1) = n^2.$$

Plain text follows.
"""

WARN = """---
title: Code in an unknown language
---

Some code:

```nosuchlanguage
x = 1
```
"""

#: fails: its front matter is not YAML (line 3). (A formula with an error no longer fails a
#: post: it is shown as MathJax shows an error.)
BAD = """---
title: Broken front matter
  oops: y
---

Fine line.

Here $\\frac{1}{2}$ closes.
"""

#: a user template whose preamble keeps TeX busy for many seconds
SLOW_TEMPLATE = """((* extends "article.tex.j2" *))
((* block preamble *))((( super() )))
\\count255=0 \\loop\\advance\\count255 by 1 \\ifnum\\count255<400000000 \\repeat
((* endblock *))
"""


def write_posts(root: Path, **posts: str) -> list[Path]:
    """Write ``name=text`` posts under ``root`` (``__`` in a name is a folder separator)."""
    paths = []
    for name, text in posts.items():
        path = root / (name.replace("__", "/") + ".md")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
