"""Batch speed, measured side by side in one run (issue 4's targets).

    python benchmarks/bench_batch.py [--limit N] [--jobs N] [--post FILE] [--no-pandoc]
                                     [--single-only] [--rounds N]

Prints:
1. one post end to end: ``md2tex post.md -o post.pdf`` vs ``pandoc post.md -o post.pdf``
   (after an untimed warm-up run, which makes the post's format: the figure is a rebuild, the
   edit-and-rebuild loop; md2tex and pandoc alternate, best of ``--rounds`` each, default 3;
   target ratio <= 0.5); ``--single-only`` stops here and keeps the batch figures already in
   the results file;
2. the corpus posts (``../shared/corpus/jekyll/``, by path) as ``md2tex batch`` vs pandoc +
   pdflatex over the same posts with the same parallelism (target throughput ratio >= 3);
3. a second, unchanged ``md2tex batch`` run (target < 2 s);
4. the peak memory of the batch (the whole process tree: md2tex and its TeX runs, sampled);
5. ``md2tex watch post.md -o post.pdf`` on the seed post: from a save (a sentence appended,
   the file closed) to the new PDF on disk (its atomic replace seen), median of ``--saves``
   saves (target <= 0.2 s).

Results also go to ``benchmarks/results/bench_batch.json``. The format cache lives in a
fresh temporary XDG_CACHE_HOME (one for the single post, another for the batch), so the batch
figure includes making every format it uses.

md2tex is timed as a user runs it: the ``md2tex`` console script installed next to this
interpreter (``sys.executable``), not a wrapper such as a pyenv shim (a bash script that adds
~0.1 s per call) and not ``python -m``. ``PYTHONDONTWRITEBYTECODE`` is removed from md2tex's
environment so the untimed warm-up run leaves ``.pyc`` files, as ``pip install`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent.parent / "shared" / "corpus" / "jekyll"
SEED = CORPUS.parent / "seed-post.md"
#: karpathy's "Quantifying Hacker News" (the README's figure), else one of our samples
DEFAULT_POST = next((p for p in (
    CORPUS / "karpathy__karpathy.github.io" / "2013-11-27-quantifying-hacker-news.markdown",
    HERE.parent / "samples" / "2024-04-02-deep-nesting-and-quotes.md") if p.is_file()),
    HERE.parent / "samples" / "2024-04-02-deep-nesting-and-quotes.md")


def _timed(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> tuple[
        float, int]:
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        code = -1
    return time.perf_counter() - started, code


def _tree_rss(root: int) -> int:
    """Total resident memory (bytes) of ``root`` and its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * page
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


def _run_sampled(cmd: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """(seconds, exit status, peak tree RSS in bytes)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = proc.wait()
    stop.set()
    sampler.join()
    return time.perf_counter() - started, code, peak


def md2tex_command() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m md2tex``."""
    script = Path(sys.executable).parent / "md2tex"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "md2tex"]


def single_post(post: Path, env: dict[str, str], pandoc: bool,
                rounds: int = 3) -> dict[str, float | None]:
    """Best of ``rounds`` for each tool and situation, all alternating (a noisy machine slows
    them alike). md2tex in the three situations of a writer's day: a rebuild of the post as
    it was, a rebuild after an edit (a sentence added to its last paragraph each round), and
    the first build of a new post of the same site (a copy under a new name, with a title
    and a code block of its own: its preamble's format exists, its front matter, code and
    title page were never seen). The untimed warm-up run is a first-ever
    build: it makes the format."""
    work = Path(tempfile.mkdtemp(prefix="bench-one-"))
    try:
        shutil.copy(post, work / "post.md")
        shutil.copy(post, work / "edited.md")

        def md2tex(name: str) -> float:
            pdf = work / f"{Path(name).stem}.pdf"
            pdf.unlink(missing_ok=True)
            seconds, code = _timed([*md2tex_command(), name, "-o", pdf.name, "-q"], work, env)
            if code != 0 or not pdf.is_file():
                raise SystemExit(f"md2tex failed on {post} (exit {code}): is it installed "
                                 f"for {sys.executable}?")
            return seconds

        first = md2tex("post.md")  # warm-up: makes the format
        md2tex("edited.md")
        cmd = ["pandoc", "post.md", "-o", "pandoc.pdf"]
        use_pandoc = pandoc and _timed(cmd, work, env)[1] == 0
        times: dict[str, list[float]] = {"rebuild": [], "edit": [], "new": [], "pandoc": []}
        for n in range(max(1, rounds)):
            times["rebuild"].append(md2tex("post.md"))
            with (work / "edited.md").open("a", encoding="utf-8") as fh:
                fh.write(f" An edit, number {n + 1}.\n")
            times["edit"].append(md2tex("edited.md"))
            (work / f"new-{n}.md").write_text(_new_post(post, n), encoding="utf-8")
            times["new"].append(md2tex(f"new-{n}.md"))
            if use_pandoc:
                times["pandoc"].append(_timed(cmd, work, env)[0])
        best = {k: min(v) if v else None for k, v in times.items()}
        other = best["pandoc"]
        return {"md2tex": best["rebuild"], "md2tex_edit": best["edit"],
                "md2tex_new_post": best["new"], "pandoc": other,
                "ratio": best["rebuild"] / other if other else None,  # type: ignore[operator]
                "ratio_edit": best["edit"] / other if other else None,  # type: ignore[operator]
                "ratio_new_post": best["new"] / other if other else None,  # type: ignore[operator]
                "md2tex_first_build": first, "rounds": max(1, rounds)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _new_post(post: Path, n: int) -> str:
    """``post`` as another post: a title and a last code block no build has seen."""
    text = post.read_text(encoding="utf-8")
    title = f"title: A new post, number {n} {os.getpid()}"
    if re.search(r"^title:.*$", text, flags=re.M):
        text = re.sub(r"^title:.*$", title, text, count=1, flags=re.M)
    else:
        text = f"---\n{title}\n---\n\n{text}"
    return text + f"\n\n```python\nprint('new post {n} {os.getpid()}')\n```\n"


def watch_saves(post: Path, env: dict[str, str], saves: int) -> list[float]:
    """Seconds from each save of ``post`` to the new PDF that ``md2tex watch`` writes."""
    import signal
    import statistics

    work = Path(tempfile.mkdtemp(prefix="bench-watch-"))
    proc = None
    try:
        source, pdf = work / "post.md", work / "post.pdf"
        shutil.copy(post, source)
        proc = subprocess.Popen([*md2tex_command(), "watch", "post.md", "-o", "post.pdf", "-q"],
                                cwd=work, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def stamp() -> tuple[int, int] | None:
            try:
                st = pdf.stat()
            except OSError:
                return None
            return st.st_ino, st.st_mtime_ns

        def changed_from(before: tuple[int, int] | None, limit: float = 120) -> None:
            deadline = time.perf_counter() + limit
            while stamp() == before:
                if time.perf_counter() > deadline or proc.poll() is not None:
                    raise SystemExit("md2tex watch wrote no PDF")
                time.sleep(0.002)

        changed_from(None)  # the first build (makes the format)
        times = []
        for n in range(saves):
            time.sleep(0.3)  # the next TeX run is started after each build
            before = stamp()
            with source.open("a", encoding="utf-8") as fh:
                fh.write(f"\nA sentence added by save number {n + 1}.\n")
            started = time.perf_counter()
            changed_from(before)
            times.append(time.perf_counter() - started)
        print(f"   median {statistics.median(times):.3f} s, min {min(times):.3f} s, "
              f"max {max(times):.3f} s over {saves} saves")
        return times
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                print("   md2tex watch did not stop within 30 s of Ctrl-C: killed")
                proc.kill()
                proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def pandoc_batch(posts: list[Path], jobs: int, env: dict[str, str]) -> tuple[float, int]:
    out = Path(tempfile.mkdtemp(prefix="bench-pandoc-"))
    try:
        def one(item: tuple[int, Path]) -> int:
            index, post = item
            return _timed(["pandoc", str(post), "-o", str(out / f"{index}.pdf"),
                           f"--resource-path={post.parent}"], out, env, 120)[1]

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            codes = list(pool.map(one, enumerate(posts)))
        return time.perf_counter() - started, sum(1 for c in codes if c == 0)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N corpus posts")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--post", type=Path, default=DEFAULT_POST)
    parser.add_argument("--no-pandoc", action="store_true")
    parser.add_argument("--single-only", action="store_true",
                        help="only the single post (the batch figures in the results file "
                             "are kept)")
    parser.add_argument("--saves", type=int, default=15,
                        help="watch: saves timed (median kept)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="single post: timed runs of each tool, alternating (best kept)")
    args = parser.parse_args()
    pandoc = not args.no_pandoc and shutil.which("pandoc") is not None
    if not pandoc and not args.no_pandoc:
        print("pandoc not found (apt-get install pandoc): pandoc figures skipped")
    xdg = Path(tempfile.mkdtemp(prefix="bench-xdg-"))
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env = {**base, "XDG_CACHE_HOME": str(xdg / "single")}
    results: dict[str, object] = {"jobs": args.jobs, "cpus": os.cpu_count(),
                                  "md2tex_command": " ".join(md2tex_command())}
    saved = HERE / "results" / "bench_batch.json"
    if args.single_only and saved.is_file():
        previous = json.loads(saved.read_text())
        results = {**previous, "cpus": os.cpu_count(),
                   "md2tex_command": " ".join(md2tex_command())}
    print(f"md2tex is run as: {' '.join(md2tex_command())} (PYTHONDONTWRITEBYTECODE unset; "
          "fresh format caches)")
    try:
        one = single_post(args.post, env, pandoc, args.rounds)
        results["single_post"] = {"post": str(args.post), **one}
        print(f"1. one post ({args.post.name}), `md2tex post.md -o post.pdf`, best of "
              f"{one['rounds']}:")
        for label, key in (("a rebuild", ""), ("a rebuild after an edit", "_edit"),
                           ("a new post of the same site", "_new_post")):
            seconds = one[f"md2tex{key}"]
            print(f"   {label}: md2tex {seconds:.2f} s", end="")
            ratio = one[f"ratio{key}"]
            if ratio is not None:
                print(f", pandoc {one['pandoc']:.2f} s, ratio {ratio:.2f} (target <= 0.5)")
            else:
                print(" (pandoc: no figure)")
        print(f"   a first-ever build (makes the format): {one['md2tex_first_build']:.2f} s")
        if SEED.is_file():
            import statistics

            print("5. `md2tex watch` on the seed post: save -> new PDF (target <= 0.2 s)")
            saves = watch_saves(SEED, {**base, "XDG_CACHE_HOME": str(xdg / "watch")},
                                args.saves)
            results["watch"] = {"post": str(SEED), "median_seconds": statistics.median(saves),
                                "seconds": saves}
        if args.single_only:
            return

        if not CORPUS.is_dir():
            print(f"corpus not found at {CORPUS}: batch figures skipped")
            return
        posts = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".md", ".markdown"))
        if args.limit:
            posts = posts[:args.limit]
        src = Path(tempfile.mkdtemp(prefix="bench-src-"))
        out = Path(tempfile.mkdtemp(prefix="bench-out-"))
        try:
            # the same posts: copies in one folder per site (batch does not follow symlinks
            # out of the site; the limit applies to both tools)
            for i, post in enumerate(posts):
                copy = src / post.parent.name / post.name
                copy.parent.mkdir(exist_ok=True)
                if copy.exists():
                    copy = src / f"{i}-{post.name}"
                shutil.copy(post, copy)
            # a cache of its own: nothing from the single-post step is reused
            env = {**base, "XDG_CACHE_HOME": str(xdg / "batch")}
            cmd = [*md2tex_command(), "batch", str(src), "-o", str(out),
                   "-j", str(args.jobs), "-q", "--report", str(out / "report.json")]
            seconds, _code, peak = _run_sampled(cmd, env)
            report = json.loads((out / "report.json").read_text())["summary"]
            ours = len(posts) / seconds
            print(f"2. batch of {len(posts)} posts, -j {args.jobs}: md2tex {seconds:.1f} s "
                  f"({ours:.2f} posts/s; {report['converted']} PDFs, {report['failed']} "
                  "failed)", end="")
            batch: dict[str, object] = {"posts": len(posts), "md2tex_seconds": seconds,
                                        "md2tex_summary": report}
            if pandoc:
                p_seconds, p_ok = pandoc_batch(posts, args.jobs, env)
                theirs = len(posts) / p_seconds
                pdf_ratio = (report["converted"] / seconds) / max(p_ok / p_seconds, 1e-9)
                print(f", pandoc+pdflatex {p_seconds:.1f} s ({theirs:.2f} posts/s; {p_ok} "
                      f"PDFs); throughput ratio {ours / theirs:.2f} (target >= 3); PDFs per "
                      f"second ratio {pdf_ratio:.2f}")
                batch.update(pandoc_seconds=p_seconds, pandoc_pdfs=p_ok,
                             throughput_ratio=ours / theirs)
            else:
                print()
            again, _code, _peak = _run_sampled(cmd, env)
            print(f"3. second unchanged batch run: {again:.2f} s (target < 2 s)")
            print(f"4. peak memory of the batch (md2tex + TeX runs): {peak / 2**20:.0f} MiB")
            batch.update(second_run_seconds=again, peak_rss_mib=peak / 2**20)
            results["batch"] = batch
        finally:
            shutil.rmtree(src, ignore_errors=True)
            shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(xdg, ignore_errors=True)
        target = HERE / "results"
        target.mkdir(exist_ok=True)
        (target / "bench_batch.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
