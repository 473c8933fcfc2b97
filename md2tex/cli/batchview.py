"""``md2tex batch`` on the terminal: the run (``run_batch``), a line per post that says what
happened to it, the live status line on a terminal, the report and the summary.

On a terminal (stderr a TTY) the status line (done/total, posts in flight, an estimate of
the time left) is redrawn as posts finish, and only posts with problems get a line of their
own; elsewhere (a CI log, a pipe) every post gets one line as it finishes. A failed post's
line starts with ``FAILED`` and shows the error that failed it (``-v``: all of them).
Exit status: ``EXIT_OK`` everything converted or unchanged, ``EXIT_FAILED`` a post failed,
``EXIT_NO_POSTS`` the folder holds no post to convert (a usage error: the wrong folder was
named), ``EXIT_INTERRUPTED`` Ctrl-C (the report is written all the same, marked
``"interrupted": true``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import click

from md2tex.diagnostics import Diagnostic
from md2tex.memo import Memo
from md2tex.options import Options
from md2tex.site.batch import (
    BatchInterrupted,
    BatchReport,
    PostResult,
    convert_many,
    find_posts,
    problems,
    write_report,
)

EXIT_OK, EXIT_FAILED, EXIT_NO_POSTS, EXIT_INTERRUPTED = 0, 1, 2, 130

_COLOURS: Mapping[str, str | None] = {"failed": "red", "warning": "yellow", "ok": None,
                                      "skipped": None}


def post_line(result: PostResult, verbose: int = 0) -> str:
    """One post's line: ``FAILED post.md:3: error: message [code]`` with its first error,
    ``post.md:5: warning: …`` with its first warning, ``ok post.md -> out/post.pdf``,
    ``skipped post.md (unchanged)``; ``(+N more)`` when there are more (``-v`` lists them
    under it)."""
    shown: list[Diagnostic] = problems(result)
    first = result.first_error() if result.status == "failed" else (
        shown[0] if shown else None)
    if first is not None:
        text = first.format().split("\n")[0]  # ``path:line: warning: ...`` says it
        if result.status == "failed":
            text = "FAILED " + text
        rest = [d for d in shown if d is not first]
        if rest and not verbose:
            text += f" (+{len(rest)} more)"
        elif verbose:
            text += "".join("\n  " + d.format().replace("\n", "\n  ") for d in rest)
        kept = [d.message for d in result.diagnostics if d.code == "tex-kept"]
        return "\n  ".join([text, *kept]) if result.status == "failed" else text
    if result.status == "failed":
        return f"FAILED {result.path}"
    if result.status == "skipped":
        return f"skipped {result.path} ({result.reason})" if result.reason else \
            f"skipped {result.path}"
    return f"{result.status} {result.path} -> {result.output}"


class Progress:
    """What the batch prints while it runs (``convert_many``'s ``on_plan`` and
    ``on_result``), on ``stream``."""

    def __init__(self, stream: TextIO, terminal: bool, verbose: int, quiet: bool) -> None:
        self.stream = stream
        self.terminal = terminal
        self.verbose = verbose
        self.quiet = quiet
        self.started = time.monotonic()
        self.drawn = 0
        self.to_run = 0
        self.workers = 1
        self.ran = 0
        self.ran_seconds = 0.0
        self.planned = False
        self.done = self.total = 0

    def begin(self, posts: int, root: Path, out_dir: Path) -> None:
        """Said at once, before anything is converted."""
        self.total = posts
        if not self.quiet:
            self._say(f"md2tex batch: {posts} post{'s' if posts != 1 else ''} in {root} "
                      f"-> {out_dir}")

    def plan(self, to_run: int, workers: int) -> None:
        self.to_run, self.workers, self.planned = to_run, max(1, workers), True
        if not self.quiet and to_run != self.total:
            self._say(f"md2tex batch: {to_run} to convert, {self.total - to_run} unchanged "
                      "or left out")
        self._draw()

    def __call__(self, result: PostResult, done: int, total: int) -> None:
        self.done, self.total = done, total
        if self.planned:  # a post that ran (before the plan: unchanged ones)
            self.ran += 1
            self.ran_seconds += result.seconds
        if self._shown(result):
            self._say(post_line(result, self.verbose), _COLOURS.get(result.status))
        self._draw()

    def _shown(self, result: PostResult) -> bool:
        if result.status == "failed":
            return True
        if self.quiet:
            return False
        if self.terminal:  # the status line counts the rest
            return result.status == "warning" or self.verbose > 0
        return True

    def status_line(self) -> str:
        """``[12/40] 3 in flight, about 42 s left``."""
        running = min(self.workers, max(0, self.to_run - self.ran))
        text = f"[{self.done}/{self.total}] {running} in flight"
        if self.ran and running:
            left = (self.to_run - self.ran) * (self.ran_seconds / self.ran) / self.workers
            text += f", about {left:.0f} s left"
        return text + f"  ({time.monotonic() - self.started:.0f} s)"

    def _draw(self) -> None:
        if not self.terminal or self.quiet or self.done >= self.total:
            return
        text = self.status_line()
        self.stream.write("\r" + text + " " * max(0, self.drawn - len(text)))
        self.stream.flush()
        self.drawn = len(text)

    def _say(self, text: str, colour: str | None = None) -> None:
        self.clear()
        click.secho(text, fg=colour, file=self.stream)

    def clear(self) -> None:
        if self.drawn:
            self.stream.write("\r" + " " * self.drawn + "\r")
            self.stream.flush()
            self.drawn = 0


def run_batch(directory: Path, out_dir: Path, options: Options, settings: Mapping[str, Any],
              *, to: str | None = None, jobs: int | None = None,
              report_file: Path | None = None, fail_fast: bool | None = None,
              force: bool | None = None, drafts: bool | None = None, verbose: int = 0,
              quiet: bool = False) -> int:
    """``md2tex batch``: the command line's values over the site config's ``settings``;
    returns the exit status."""
    stream = sys.stderr
    to = to or str(settings.get("to", "pdf"))
    report_path = report_file or settings.get("report")
    with_drafts = bool(drafts or settings.get("drafts"))
    root, posts = find_posts(directory, exclude=[out_dir], drafts=with_drafts)
    if not posts:
        click.secho(f"md2tex: no posts (*.md, *.markdown) under {root}"
                    f"{'' if with_drafts else ' (drafts left out: --drafts)'}; nothing to do",
                    fg="red", err=True)
        return EXIT_NO_POSTS
    progress = Progress(stream, stream.isatty(), verbose, quiet)
    try:
        progress.begin(len(posts), root, out_dir)
        report = convert_many(posts, out_dir, options, root=root, to=to,
                              force=bool(force or settings.get("force")),
                              fail_fast=bool(fail_fast or settings.get("fail_fast")),
                              jobs=jobs or settings.get("jobs"), on_result=progress,
                              on_plan=progress.plan, memo=Memo.for_user(),
                              drafts=with_drafts)
    except BatchInterrupted as exc:
        progress.clear()
        finish(exc.report, report_path, quiet)
        click.secho("md2tex: interrupted", fg="red", err=True)
        return EXIT_INTERRUPTED
    progress.clear()
    finish(report, report_path, quiet)
    return EXIT_FAILED if report.exit_code else EXIT_OK


def finish(report: BatchReport, report_path: Path | str | None, quiet: bool) -> None:
    """Write the report (also after Ctrl-C) and print the summary."""
    if report_path is not None:
        try:
            write_report(report, report_path)
        except OSError as exc:
            click.secho(f"md2tex: {report_path}: cannot write report: {exc}", fg="red",
                        err=True)
    if not quiet or report.failed:
        click.echo(report.format_summary(), err=True)


__all__ = ["Progress", "finish", "post_line", "run_batch"]
