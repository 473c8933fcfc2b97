"""Ask TeX about the formulas the static checker cannot judge.

Why: ``mathcheck`` models LaTeX math, not TeX the programming language. ``\\global``,
``\\edef``, ``\\expandafter``, ``\\futurelet``, ``\\let`` to a character, ``\\def`` with a
delimited parameter text, ``\\newenvironment`` inside a formula... can mean anything (what
they do is undecidable without running them), so the checker marks such a formula "needs
TeX's verdict" (``MathResult.needs_tex``, a ``math-unverified`` warning) instead of guessing
an error. Before the document is built, this module typesets those formulas in a small
document with the post's own preamble (same packages, same hoisted definitions), each in its
own group after a ``\\typeout`` marker, with build.py's machinery (private work dir, sandbox,
limits, nonstopmode, ``-halt-on-error``, a short time limit). A formula TeX rejects is shown
as MathJax shows an error (the pipeline swaps in its fallback) with a ``math-tex-rejected``
warning at its Markdown line (an error under ``--strict``); one TeX accepts is a note.

The probe runs only when a post has such a formula (rare; most posts never start TeX here).
One run covers all of them; ``-halt-on-error`` stops at the first rejected formula, and the
next run starts after it, so one fatal error cannot poison the others (a run that times out
falls back to one run per formula). An uncertain formula that defines or assigns something
may change the meaning of every formula after it, so those are typeset too.
Without TeX, or with ``Options.probe_math`` off (``--no-probe``), the warning stays (an error
under ``--strict``).
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, NamedTuple

from md2tex.diagnostics import (
    SHOWN_AS_ERROR,
    BuildError,
    Diagnostic,
    EngineMissingError,
    note,
    warning,
)
from md2tex.document import Document, Formula

if TYPE_CHECKING:
    from md2tex.tex.texlog import TexError

log = logging.getLogger(__name__)

#: seconds one probe run may take (a looping formula is stopped; the post's own --timeout
#: applies if it is shorter)
PROBE_TIMEOUT = 20.0
#: runs per post at most (each rejected formula costs one); the rest stay unverified
MAX_RUNS = 12
class Verdict(NamedTuple):
    #: "ok", "rejected", or "unknown" (TeX could not tell: broken preamble, run limit)
    status: str
    message: str = ""


def probe_set(formulas: Sequence[Formula]) -> list[int]:
    """The formulas to typeset: the uncertain ones and all after one that leaks."""
    out: list[int] = []
    leaking = False
    for k, f in enumerate(formulas):
        if f.unverified is not None or leaking:
            out.append(k)
        leaking = leaking or f.leaks
    return out


def verify(document: Document, formulas: Sequence[Formula], diagnostics: list[Diagnostic],
           probe_all: bool = False) -> tuple[list[Diagnostic], list[int]]:
    """``diagnostics`` with TeX's verdicts, and the formulas (indices) TeX rejects, which the
    pipeline shows as MathJax shows an error: each ``math-unverified`` warning of a formula
    TeX accepts becomes a note, of one TeX rejects a ``math-tex-rejected`` warning; a checked
    formula that TeX rejects gets one too. Unchanged when probing is off, TeX is missing or
    nothing is uncertain. ``probe_all`` (``md2tex check``, when TeX is here): every formula
    is typeset, not only the uncertain ones, so a formula the checker passes and TeX still
    rejects, which the build would find and show as an error, is reported by check too (one
    TeX run per post with math)."""
    everything = probe_all and bool(formulas)
    if not everything and not any(f.unverified is not None for f in formulas):
        return diagnostics, []
    if not getattr(document.options, "probe_math", True) or \
            shutil.which(document.engine) is None:
        return diagnostics, []
    chosen = list(range(len(formulas))) if everything else probe_set(formulas)
    verdicts = run_probe(document, [formulas[k].latex for k in chosen], keep_format=everything)
    if verdicts is None:
        return diagnostics, []
    rejected: list[int] = []
    replaced: dict[int, Diagnostic | None] = {}
    extra: list[Diagnostic] = []
    for k, verdict in zip(chosen, verdicts, strict=True):
        f = formulas[k]
        if verdict.status == "rejected":
            rejected.append(k)
            d = warning("math-tex-rejected", f"TeX rejects this formula: {verdict.message}; "
                        f"{SHOWN_AS_ERROR}", f.line, column=f.column, path=document.path,
                        hint="TeX typeset it on its own with the post's preamble and "
                        "stopped with this error")
        elif verdict.status == "ok" and f.unverified is not None:
            d = note("math-tex-accepted", f"{f.unverified.message.split(':')[0]}: TeX "
                     "accepts this formula (checked with TeX before the build)", f.line,
                     column=f.column, path=document.path)
        elif verdict.status == "unknown" and f.unverified is not None:
            d = replace(f.unverified, message=f"{f.unverified.message} ({verdict.message})")
        else:
            continue
        if f.unverified is not None:
            replaced[id(f.unverified)] = d
        else:
            extra.append(d)
    out = [replaced.get(id(d), d) for d in diagnostics]
    return [d for d in out if d is not None] + extra, rejected


def probe_tex(preamble: str, formulas: Sequence[str], nonce: str) -> str:
    """The probe document: the post's preamble, then each formula in its own group after a
    marker that also prints the group level (a formula must not leave a group open)."""
    parts = [preamble.rstrip("\n"), "\\begin{document}"]
    for k, latex in enumerate(formulas):
        parts.append(f"\\typeout{{{nonce} {k} \\the\\currentgrouplevel}}")
        parts.append(f"\\begingroup\n{latex}\n\\par\\endgroup")
    parts.append(f"\\typeout{{{nonce} end \\the\\currentgrouplevel}}")
    parts.append("\\end{document}\n")
    return "\n".join(parts)


def run_probe(document: Document, formulas: Sequence[str],
              keep_format: bool = False) -> list[Verdict] | None:
    """TeX's verdict on each formula (typeset after ``document``'s preamble); None when TeX
    cannot be run at all. ``keep_format`` (check probes every post): the preamble is dumped
    as a format for the next post with these packages."""
    head, sep, _rest = document.tex.partition("\\begin{document}")
    if not sep:
        return None
    timeout = min(PROBE_TIMEOUT, document.options.timeout)
    verdicts: list[Verdict | None] = [None] * len(formulas)
    pending = list(range(len(formulas)))
    runs = 0
    one_by_one = False
    try:
        while pending and runs < MAX_RUNS:
            runs += 1
            batch = pending[:1] if one_by_one else pending
            results = _run(document, head, [formulas[k] for k in batch], timeout, keep_format)
            if results is None:  # timed out: find the looping formula one run at a time
                if len(batch) > 1:
                    one_by_one = True
                    continue
                results = [Verdict("rejected", f"TeX did not finish within {timeout:g} s "
                                   "(the formula may make TeX loop forever)")]
            for k, verdict in zip(batch, results, strict=False):
                verdicts[k] = verdict
            done = {k for k, v in zip(batch, results, strict=False)}
            unknown = next((v for v in results if v.status == "unknown"), None)
            if unknown is not None:
                # TeX could not judge (the preamble fails): the same for every formula left
                for k in pending:
                    verdicts[k] = verdicts[k] or unknown
                break
            if not results:
                break
            pending = [k for k in pending if k not in done]
    except EngineMissingError:
        return None
    return [v or Verdict("unknown", "not checked: too many formulas TeX rejects")
            for v in verdicts]


def _run(document: Document, head: str, formulas: Sequence[str], timeout: float,
         keep_format: bool = False) -> list[Verdict] | None:
    """One probe run; verdicts for a prefix of ``formulas`` (up to and including the first
    one TeX rejects), or None when TeX ran out of time."""
    import secrets

    from md2tex.tex import formats as fmtcache
    from md2tex.tex import private_dir, process

    nonce = "md2tex-probe-" + secrets.token_hex(6)
    tex = probe_tex(head, formulas, nonce)
    with private_dir.temporary("md2tex-probe-") as workdir:
        probe_doc = replace(document, tex=tex)
        fmt = None
        try:
            fmt = fmtcache.use_format(probe_doc, workdir)
        except Exception as exc:  # the format cache is only an optimisation
            log.debug("probe: no format: %s", exc)
        if fmt is None:
            (workdir / f"{process.TEX_NAME}.tex").write_text(tex, encoding="utf-8")
        try:
            status, log_text = process.run_engine(workdir, document.engine, timeout,
                                                fmt.args if fmt else ())
        except BuildError:
            return None
        results = _parse(log_text, nonce, len(formulas))
        if fmt is not None and results and results[0].status == "unknown":
            # the preamble failed with the dumped format: once more without it
            (workdir / f"{process.TEX_NAME}.tex").write_text(tex, encoding="utf-8")
            try:
                status, log_text = process.run_engine(workdir, document.engine, timeout)
            except BuildError:
                return None
            results = _parse(log_text, nonce, len(formulas))
        log.debug("probe: %d formula(s), status %s", len(formulas), status)
        if fmt is None and status == 0 and keep_format and \
                (workdir / f"{process.TEX_NAME}.pdf").exists():
            # check probes every post: the next post with these packages loads them from a
            # format (dumped and verified as after a build) instead of the preamble
            fmtcache.create_format(probe_doc, workdir, timeout)
        return results


def _parse(log_text: str, nonce: str, count: int) -> list[Verdict]:
    """Verdicts from the log: formulas whose next marker came at the same group level with
    no error before it are accepted; the one the first error follows is rejected."""
    from md2tex.tex import texlog

    marks = [(m.start(), m.group(1), int(m.group(2))) for m in re.finditer(
        re.escape(nonce) + r" (\d+|end) (\d+)", log_text)]
    err = texlog.first_error(log_text)
    err_at = err.at if err else len(log_text) + 1
    out: list[Verdict] = []
    # no marker at all: TeX stopped in the preamble (reported below as "unknown")
    following: list[tuple[int, str, int] | None] = [*marks[1:], None] if marks else []
    for (at, label, level), nxt in zip(marks, following, strict=True):
        if label == "end" or at > err_at:
            break
        if nxt is not None and nxt[0] < err_at:
            if nxt[2] != level:
                out.append(Verdict("rejected", "it leaves a group open (\\begingroup or "
                                   "'{' without its end)"))
                return out
            out.append(Verdict("ok"))
            continue
        # the formula after this marker stopped TeX
        out.append(Verdict("rejected", _message(err) if err else
                           "TeX stopped while reading it"))
        return out
    if not out and (not marks or marks[0][0] > err_at):
        return [Verdict("unknown", "TeX could not check it: the preamble fails: "
                        + (_message(err) if err else "no log"))]
    return out


def _message(err: TexError) -> str:
    """TeX's error in one line; for an undefined control sequence, its name."""
    message = err.message.rstrip(".")
    name = err.undefined_name()
    return f"{message} {name}" if name else message
