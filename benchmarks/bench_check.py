"""``md2tex check`` over the whole Jekyll corpus: time, errors, and a spot check by TeX.

Runs the check logic (no TeX) over every post of ../shared/corpus/jekyll/ with each site's
conventions (single-dollar math only on the three sites that use it; wiseodd's site macros),
prints the time and the math errors by code, then compiles 20 flagged formulas *as written*
(amsmath, amssymb, mathtools, the site's macros) to confirm that TeX rejects them.

Usage: python benchmarks/bench_check.py [--spot 20] [--seed 1]
"""

from __future__ import annotations

import argparse
import collections
import random
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from md2tex import Options
from md2tex.cli.check import check_file
from md2tex.cli.commands import _load_macros
from md2tex.markdown.parse import parse_markdown
from md2tex.markdown.source import load_post
from md2tex.math.check import prepare
from md2tex.math.macros import definitions_from_text, preamble
from md2tex.math.sitemacros import collect

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "jekyll"
DOLLAR_SITES = ("andrewcharlesjones", "binlidaily", "wiseodd")


def site_options(site: str) -> Options:
    macros = ""
    if site.startswith("wiseodd"):
        macros = _load_macros(CORPUS / "wiseodd__wiseodd.github.io.site-macros.txt")
    return Options(dollar_math=site.startswith(DOLLAR_SITES), macros=macros)


def formulas(tokens: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    for tok in tokens:
        if tok["type"] in ("math", "math_block"):
            out.append((tok["raw"], tok["type"] == "math_block" or
                        bool(tok.get("attrs", {}).get("display"))))
        for key in ("children",):
            if isinstance(tok.get(key), list):
                out += formulas(tok[key])
    return out


def compiles(formula: str, display: bool, macros: str) -> bool:
    body = f"\\[{formula}\\]" if display else f"${formula}$"
    tex = ("\\documentclass{article}\\usepackage[T1]{fontenc}\\usepackage{amsmath,amssymb,"
           "mathtools}\n" + macros + "\n\\begin{document}\n" + body + "\n\\end{document}\n")
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "a.tex").write_text(tex, encoding="utf-8")
        proc = subprocess.run(["pdflatex", "-interaction=batchmode", "-halt-on-error",
                               "-no-shell-escape", "a.tex"], cwd=tmp, capture_output=True,
                              stdin=subprocess.DEVNULL, timeout=60)
        return proc.returncode == 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spot", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    posts = sorted(p for p in CORPUS.glob("*/*") if p.suffix in (".md", ".markdown"))
    opts = {site.name: site_options(site.name) for site in CORPUS.iterdir() if site.is_dir()}
    t0 = time.perf_counter()
    results = [check_file(p, opts[p.parent.name]) for p in posts]
    seconds = time.perf_counter() - t0
    by_code: collections.Counter[str] = collections.Counter()
    for r in results:
        for d in r.diagnostics:
            if d.severity.value == "error":
                by_code[d.code] += 1
    print(f"md2tex check: {len(posts)} posts in {seconds:.1f} s "
          f"({1000 * seconds / len(posts):.0f} ms/post); errors "
          f"{sum(by_code.values())}: {dict(by_code.most_common())}")

    # the flagged formulas themselves, then a spot check by TeX
    flagged: list[tuple[Path, str, bool, str, str]] = []
    for p in posts:
        o = opts[p.parent.name]
        post = load_post(p.read_text(encoding="utf-8"), str(p))
        user = collect(o.macros, post.meta, post.body, str(p))
        tokens, _ = parse_markdown(post.body, post.body_line, o.dollar_math)
        site_pre = preamble(definitions_from_text(o.macros)[0])
        for raw, display in formulas(tokens):
            res = prepare(raw, display=display, macros=user.known)
            errs = [d for d in res.diagnostics if d.severity.value == "error"]
            if errs and not errs[0].code.startswith("math-unicode"):
                flagged.append((p, raw, display, errs[0].code, site_pre))
    rng = random.Random(args.seed)
    sample = rng.sample(flagged, min(args.spot, len(flagged)))
    fail = 0
    for p, raw, display, code, pre in sample:
        ok = compiles(raw, display, pre)
        fail += not ok
        print(f"  {'TeX fails ' if not ok else 'TeX PASSES'} [{code}] {p.parent.name[:18]}/"
              f"{p.name[:28]}: {' '.join(raw.split())[:70]}")
    print(f"spot check: {fail}/{len(sample)} flagged formulas really fail in TeX "
          f"({len(flagged)} flagged formulas in all)")


if __name__ == "__main__":
    main()
