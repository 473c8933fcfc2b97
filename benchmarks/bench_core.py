#!/usr/bin/env python3
"""Core benchmark (run by hand, never by the tests): how long md2tex takes against pandoc and
against the floor of one bare pdflatex pass.

For the seed post and for a post ten times as long (the seed's body repeated ten times under
one front matter) it prints the median of several runs of

* md→tex: md2tex as a library call (``convert_file`` + write) and as the CLI
  (``md2tex post.md -o post.tex``), against ``pandoc -s -o x.tex post.md``;
* md→pdf: md2tex as a library call (``convert_file`` + ``build_pdf``, with and without the
  precompiled-preamble format cache) and as the CLI (``md2tex post.md -o post.pdf``),
  against one bare ``pdflatex`` pass over the very .tex md2tex wrote (the floor: md2tex may
  need a second pass for bookmarks and references, and it checks and sandboxes its run).

Usage::

    python benchmarks/bench_core.py [--runs 5] [--pdf-runs 3] [--seed PATH]

The md→tex cells show the median wall time and, in brackets, the median CPU time of this
process and its children (pandoc, the CLI): on a busy machine wall time is inflated by waiting
for a CPU, CPU time much less. The md→pdf table shows wall time only (a sandboxed TeX's CPU
time is not reliably charged to us).

Needs pandoc (``apt-get install -y pandoc``; only for this benchmark) and TeX Live. The format
cache lives in a temporary ``XDG_CACHE_HOME`` so that runs start from the same state; the
first run of each measurement is a warm-up and is not counted.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SEED = ROOT.parent / "shared" / "corpus" / "seed-post.md"


@dataclass(frozen=True)
class Timing:
    """Median wall-clock seconds, and median CPU seconds (this process and the children it
    waited for), which a busy machine inflates much less than wall time."""

    wall: float
    cpu: float


def _cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def median_seconds(fn: Callable[[], object], runs: int, warmup: int = 1) -> Timing:
    for _ in range(warmup):
        fn()
    walls, cpus = [], []
    for _ in range(runs):
        cpu0, started = _cpu(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - started)
        cpus.append(_cpu() - cpu0)
    return Timing(statistics.median(walls), statistics.median(cpus))


def run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n"
                         f"{(proc.stderr or proc.stdout)[-2000:]}")


def md2tex_cli() -> list[str]:
    script = Path(sys.executable).parent / "md2tex"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "md2tex"]


def make_posts(seed: Path, work: Path) -> dict[str, Path]:
    text = seed.read_text(encoding="utf-8")
    lines = text.split("\n")
    assert lines[0].strip() == "---", "the seed starts with front matter"
    close = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    front, body = "\n".join(lines[: close + 1]), "\n".join(lines[close + 1 :])
    posts = {"seed": work / "seed.md", "seed x10": work / "seed10.md"}
    posts["seed"].write_text(text, encoding="utf-8")
    posts["seed x10"].write_text(front + "\n" + "\n\n".join([body] * 10), encoding="utf-8")
    return posts


@dataclass
class Row:
    name: str
    lines: int
    lib_tex: Timing
    cli_tex: Timing
    pandoc_tex: Timing
    lib_pdf: Timing
    lib_pdf_nocache: Timing
    cli_pdf: Timing
    floor: Timing
    pages: int
    runs: int
    isolation: str


def measure(name: str, post: Path, runs: int, pdf_runs: int) -> Row:
    import md2tex

    work = post.parent / (post.stem + "-out")
    work.mkdir(exist_ok=True)
    tex_out, pdf_out = work / "lib.tex", work / "lib.pdf"

    def lib_tex() -> None:
        tex_out.write_text(md2tex.convert_file(post).tex, encoding="utf-8")

    last: list[md2tex.BuildResult] = []

    def lib_pdf(cache: bool = True) -> None:
        options = replace(md2tex.Options(), format_cache=cache)
        last.append(md2tex.build_pdf(md2tex.convert_file(post, options), pdf_out))

    cli = md2tex_cli()
    row_lib_tex = median_seconds(lib_tex, runs)
    row_cli_tex = median_seconds(lambda: run([*cli, str(post), "-o", str(work / "cli.tex")],
                                             work), runs)
    row_pandoc = median_seconds(lambda: run(["pandoc", "-s", "-o", str(work / "pandoc.tex"),
                                             str(post)], work), runs)
    row_lib_pdf = median_seconds(lib_pdf, pdf_runs)
    result = last[-1]
    row_lib_pdf_nocache = median_seconds(lambda: lib_pdf(cache=False), pdf_runs)
    row_cli_pdf = median_seconds(lambda: run([*cli, str(post), "-o", str(work / "cli.pdf")],
                                             work), pdf_runs)

    floor_dir = work / "floor"
    floor_dir.mkdir(exist_ok=True)
    shutil.copy(tex_out, floor_dir / "post.tex")
    row_floor = median_seconds(lambda: run(["pdflatex", "-interaction=nonstopmode",
                                            "-halt-on-error", "post.tex"], floor_dir), pdf_runs)
    pages = 0
    info = subprocess.run(["pdfinfo", str(pdf_out)], capture_output=True, text=True).stdout
    for line in info.splitlines():
        if line.startswith("Pages:"):
            pages = int(line.split()[1])
    return Row(name, post.read_text(encoding="utf-8").count("\n") + 1, row_lib_tex,
               row_cli_tex, row_pandoc, row_lib_pdf, row_lib_pdf_nocache, row_cli_pdf,
               row_floor, pages, result.runs, getattr(result, "isolation", "?"))


def table(rows: list[Row]) -> str:
    def ms(t: Timing) -> str:
        return f"{t.wall * 1000:.0f} ms ({t.cpu * 1000:.0f})"

    def ratio(a: Timing, b: Timing) -> str:
        return f"{a.wall / b.wall:.2f}x ({a.cpu / b.cpu:.2f}x)"

    out = ["md -> tex: median wall time (CPU time in brackets)",
           "| post | lines | md2tex library | md2tex CLI | pandoc -s | library / pandoc "
           "| CLI / pandoc |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        out.append(f"| {r.name} | {r.lines} | {ms(r.lib_tex)} | {ms(r.cli_tex)} | "
                   f"{ms(r.pandoc_tex)} | {ratio(r.lib_tex, r.pandoc_tex)} | "
                   f"{ratio(r.cli_tex, r.pandoc_tex)} |")
    def wall(t: Timing) -> str:
        return f"{t.wall * 1000:.0f} ms"

    out += ["", "md -> pdf: median wall time; floor = one bare pdflatex pass over md2tex's .tex",
            "| post | pages | TeX runs | md2tex library | library, no format cache | "
            "md2tex CLI | floor | library / floor | no cache / floor | CLI / floor |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        out.append(f"| {r.name} | {r.pages} | {r.runs} | {wall(r.lib_pdf)} | "
                   f"{wall(r.lib_pdf_nocache)} | {wall(r.cli_pdf)} | {wall(r.floor)} | "
                   f"{r.lib_pdf.wall / r.floor.wall:.2f}x | "
                   f"{r.lib_pdf_nocache.wall / r.floor.wall:.2f}x | "
                   f"{r.cli_pdf.wall / r.floor.wall:.2f}x |")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs for md -> tex")
    parser.add_argument("--pdf-runs", type=int, default=3, help="timed runs for md -> pdf")
    parser.add_argument("--seed", type=Path, default=DEFAULT_SEED)
    args = parser.parse_args()
    for tool in ("pandoc", "pdflatex", "pdfinfo"):
        if shutil.which(tool) is None:
            hint = " (apt-get install -y pandoc)" if tool == "pandoc" else ""
            print(f"bench_core: {tool} not found{hint}", file=sys.stderr)
            return 2
    if not args.seed.is_file():
        print(f"bench_core: seed post not found at {args.seed}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="md2tex-bench-") as tmp:
        work = Path(tmp)
        os.environ["XDG_CACHE_HOME"] = str(work / "cache")
        sys.path.insert(0, str(ROOT))
        import md2tex

        posts = make_posts(args.seed, work)
        rows = [measure(name, path, args.runs, args.pdf_runs) for name, path in posts.items()]
        pandoc = subprocess.run(["pandoc", "--version"], capture_output=True,
                                text=True).stdout.split("\n")[0]
        tex = subprocess.run(["pdflatex", "--version"], capture_output=True,
                             text=True).stdout.split("\n")[0]
        print(f"md2tex {md2tex.__version__}, {pandoc}, {tex}, Python "
              f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, TeX isolation: "
              f"{rows[0].isolation}; {args.runs} md->tex and {args.pdf_runs} md->pdf runs "
              "(median, after one warm-up)\n")
        print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
