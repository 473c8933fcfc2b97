"""The math validator against real TeX, on ../shared/corpus/formulas/formulas.jsonl.

Each formula goes through md2tex's own pipeline as a post with one ``$$...$$`` block; the
formulas md2tex passes (no error diagnostic) are compiled with pdflatex, many per document,
bisecting a failing batch down to the formulas that fail. Prints:

- silent failures: md2tex passed the formula without an error, TeX rejected it (target 0);
- false alarms: md2tex reported an error on a formula that compiles as written (latex_ok or
  toplevel_ok in the corpus; target <= 0.5%);
- rescued: of the formulas MathJax accepts and LaTeX rejects as written, the share that
  md2tex turns into LaTeX that compiles (target >= 80%);
- validation time per formula (``mathcheck.prepare``; target < 1 ms typical).

Usage: python benchmarks/bench_formulas.py [--limit N] [--sample N] [--only-failing JSON]
       [--jobs 2] [--batch 80] [--show N] [--save JSON]

Every run writes the ids of its silent failures, false alarms and unrescued formulas to
``--save`` (default ``benchmarks/results/formulas.json`` for a full run,
``benchmarks/results/formulas-partial.json`` otherwise). ``--only-failing`` re-checks only
the formulas listed in such a file, for fast iteration; the figures then cover that subset.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from md2tex import Options, convert
from md2tex.math.check import prepare

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "formulas" / \
    "formulas.jsonl"
_BASE = convert("x\n", Options())
_BASE_LINES = set(_BASE.tex.split("\\begin{document}")[0].splitlines())


def to_post(tex: str) -> str:
    return "$$\n" + tex.strip("\n") + "\n$$\n"


def convert_one(tex: str) -> dict[str, Any]:
    doc = convert(to_post(tex), Options(equation_numbers="none"))
    errors = [d for d in doc.diagnostics if d.severity.value == "error"]
    pre, _, rest = doc.tex.partition("\\begin{document}")
    body = rest.rsplit("\\end{document}", 1)[0]
    body = body.replace("\\maketitle", "")
    extra = [ln for ln in pre.splitlines() if ln not in _BASE_LINES]
    if doc.engine != "pdflatex":
        # e.g. CJK text: md2tex builds with xelatex; compiled alone, with its own preamble
        return {"ok": not errors, "errors": [f"{d.code}: {d.message}" for d in errors],
                "engine": doc.engine, "tex": doc.tex, "packages": [], "local": [],
                "body": ""}
    return {"ok": not errors, "errors": [f"{d.code}: {d.message}" for d in errors],
            "packages": [ln for ln in extra if ln.startswith("\\usepackage")],
            "local": [ln for ln in extra if not ln.startswith("\\usepackage")],
            "body": body.strip()}


def document(items: list[dict[str, Any]], marks: bool = False) -> str:
    pre = _BASE.tex.split("\\begin{document}")[0]
    packages: list[str] = []
    for it in items:
        for p in it["packages"]:
            if p not in packages:
                packages.append(p)
    pre = pre.replace("\\usepackage{amsmath,amssymb}",
                      "\\usepackage{amsmath,amssymb}\n" + "\n".join(packages), 1)
    parts = []
    for k, it in enumerate(items):
        mark = f"\\typeout{{M\\string ARK{k}}}" if marks else ""
        parts.append(mark + "{" + "\n".join(it["local"]) + "\n" + it["body"] + "\n}\\par")
    end = "\\typeout{M\\string ARKEND}" if marks else ""
    return pre + "\\begin{document}\n" + "\n".join(parts) + end + "\n\\end{document}\n"


def _run(items: list[dict[str, Any]], marks: bool) -> tuple[bool, str]:
    engine = items[0].get("engine", "pdflatex")
    with tempfile.TemporaryDirectory() as tmp:
        text = items[0]["tex"] if engine != "pdflatex" else document(items, marks)
        Path(tmp, "a.tex").write_text(text, encoding="utf-8")
        mode = "-interaction=nonstopmode" if marks else "-interaction=batchmode"
        cmd = [engine, mode, "-no-shell-escape", "a.tex"]
        if not marks:
            cmd.insert(2, "-halt-on-error")
        try:
            proc = subprocess.run(cmd, cwd=tmp, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=30, env={**os.environ, "openout_any": "p"})
        except subprocess.TimeoutExpired:
            return False, ""
        log = Path(tmp, "a.log").read_text(encoding="latin-1") if Path(tmp, "a.log").exists() \
            else ""
        return proc.returncode == 0, log


def compiles(items: list[dict[str, Any]]) -> bool:
    return _run(items, marks=False)[0]


def _bisect(items: list[dict[str, Any]]) -> list[int]:
    if compiles(items):
        return []
    if len(items) == 1:
        return [items[0]["i"]]
    mid = len(items) // 2
    return _bisect(items[:mid]) + _bisect(items[mid:])


def failing(items: list[dict[str, Any]]) -> list[int]:
    """Indices (``it['i']``) of items that fail: one nonstopmode run names the suspects
    (errors between markers), each suspect is confirmed alone, the rest compiled together
    (bisected only if that still fails)."""
    ok, log = _run(items, marks=True)
    if ok and "\n!" not in log:
        return []
    chunks = log.split("MARK")
    if not chunks[-1].startswith("END"):
        return _bisect(items)
    suspects = set()
    for chunk in chunks[1:-1]:
        k = int(re.match(r"\d+", chunk).group(0))  # type: ignore[union-attr]
        if "\n!" in chunk:
            suspects.add(k)
    confirmed = [items[k]["i"] for k in sorted(suspects) if not compiles([items[k]])]
    rest = [it for k, it in enumerate(items) if k not in suspects]
    return confirmed + (_bisect(rest) if rest else [])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=80)
    ap.add_argument("--show", type=int, default=10)
    ap.add_argument("--sample", type=int, default=0, help="random sample of N formulas")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only-failing", type=Path, default=None,
                    help="re-check only the ids listed in this results JSON")
    ap.add_argument("--save", type=Path, default=None)
    args = ap.parse_args()
    if not CORPUS.exists():
        sys.exit(f"corpus not found: {CORPUS}")
    rows = [json.loads(line) for line in CORPUS.open(encoding="utf-8")]
    full = not (args.limit or args.sample or args.only_failing)
    if args.only_failing:
        prev = json.loads(args.only_failing.read_text(encoding="utf-8"))
        wanted = {i for key in ("silent", "false_alarms", "not_rescued") for i in prev[key]}
        rows = [r for r in rows if r["id"] in wanted]
    if args.sample:
        rows = random.Random(args.seed).sample(rows, min(args.sample, len(rows)))
    if args.limit:
        rows = rows[: args.limit]

    # validation time: prepare() alone, as the renderer calls it
    times = []
    for r in rows:
        t0 = time.perf_counter()
        prepare(r["tex"], display=True)
        times.append(time.perf_counter() - t0)
    times.sort()

    t0 = time.perf_counter()
    converted = []
    for i, r in enumerate(rows):
        c = convert_one(r["tex"])
        c["i"] = i
        converted.append(c)
    t_convert = time.perf_counter() - t0

    passed = [c for c in converted if c["ok"] and "engine" not in c]
    batches = [passed[k : k + args.batch] for k in range(0, len(passed), args.batch)]
    # documents md2tex builds with another engine: one per batch, compiled as converted
    batches += [[c] for c in converted if c["ok"] and "engine" in c]
    passed = [c for c in converted if c["ok"]]
    t0 = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        fails = {i for chunk in pool.imap_unordered(failing, batches) for i in chunk}
    t_compile = time.perf_counter() - t0

    def compiles_as_written(r: dict[str, Any]) -> bool:
        return bool(r["latex_ok"] or r.get("toplevel_ok"))

    silent = [i for i in fails]
    flagged = [c["i"] for c in converted if not c["ok"]]
    good = [i for i, r in enumerate(rows) if compiles_as_written(r)]
    false_alarms = [i for i in good if not converted[i]["ok"]]
    mj_rejected = [i for i, r in enumerate(rows)
                   if r["mathjax"] == "ok" and not compiles_as_written(r)]
    rescued = [i for i in mj_rejected if converted[i]["ok"] and i not in fails]

    print(f"formulas: {len(rows)}; md2tex errors on {len(flagged)}; compiled {len(passed)} "
          f"in {len(batches)} batches ({t_compile:.0f} s, convert {t_convert:.0f} s)")
    print(f"silent failures (md2tex passed, TeX failed): {len(silent)}  [target 0]")
    print(f"false alarms on formulas that compile: {len(false_alarms)}/{len(good)} = "
          f"{100 * len(false_alarms) / max(len(good), 1):.2f}%  [target <= 0.5%]")
    print(f"MathJax-accepted, TeX-rejected formulas rescued: {len(rescued)}/{len(mj_rejected)}"
          f" = {100 * len(rescued) / max(len(mj_rejected), 1):.1f}%  [target >= 80%]")
    print(f"validation time per formula: median {1000 * statistics.median(times):.3f} ms, "
          f"p90 {1000 * times[int(0.9 * len(times))]:.3f} ms, "
          f"max {1000 * times[-1]:.1f} ms  [target < 1 ms typical]")
    save = args.save or Path(__file__).resolve().parent / "results" / \
        ("formulas.json" if full else "formulas-partial.json")
    save.parent.mkdir(parents=True, exist_ok=True)
    save.write_text(json.dumps({
        "formulas": len(rows), "silent": [rows[i]["id"] for i in silent],
        "false_alarms": [rows[i]["id"] for i in false_alarms],
        "not_rescued": [rows[i]["id"] for i in mj_rejected if i not in rescued],
        "good": len(good), "mj_rejected": len(mj_rejected),
        "timing_ms": {"median": 1000 * statistics.median(times),
                      "p90": 1000 * times[int(0.9 * len(times))], "max": 1000 * times[-1]},
    }, indent=1), encoding="utf-8")
    for title, ids in (("silent failures", silent), ("false alarms", false_alarms),
                       ("not rescued", [i for i in mj_rejected if i not in rescued])):
        if ids and args.show:
            print(f"\n-- {title} (first {args.show}):")
            for i in ids[: args.show]:
                tex = re.sub(r"\s+", " ", rows[i]["tex"])[:110]
                why = converted[i]["errors"][:1] or rows[i]["latex_errors"][:1]
                print(f"  {rows[i]['id']}: {tex}\n      {why}")


if __name__ == "__main__":
    main()
