"""bibtex between TeX's passes, run as every helper runs (``sandbox.run_helper``: bwrap,
limits, an environment made from scratch, killed on timeout or interrupt).

The only database it may read is the one the first pass wrote into the private work dir
(``\\bibdata`` must name it, ``BIBINPUTS`` is that folder alone, ``openin_any=p``); the
style comes from TeX Live. Its complaints are returned, never raised: a build whose
References bibtex could not make still has its PDF, with the cited keys in their place."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from md2tex.escape import escape_text
from md2tex.tex import sandbox
from md2tex.tex.process import TEX_NAME

#: the database the conversion writes (``md2tex.latex.citations.BIB_NAME``; the TeX room
#: does not import the LaTeX room)
DATABASE = "md2tex-references"
_CITATION = re.compile(r"^\\citation\{", re.M)
_CITED = re.compile(r"^\\citation\{([^}]*)\}$", re.M)
#: the keys md2tex.latex.citations lets into \citep
_SAFE_KEY = re.compile(r"[A-Za-z0-9_:.\-+/@!?*'()=;]{1,100}")
_BIBDATA = re.compile(r"^\\bibdata\{([^}]*)\}", re.M)
_STYLE = re.compile(r"^\\bibstyle\{([A-Za-z0-9_-]+)\}$", re.M)
#: the .aux read to decide, and the .blg read for complaints
MAX_READ = 4 << 20
MEMORY = 512 * 1024 * 1024
FSIZE = 32 * 1024 * 1024
#: bibtex's errors (its warnings, "empty year in x", are how styles talk)
_COMPLAINT = re.compile(r"^(?:I (?:couldn't|was expecting|found no)|"
                        r"Repeated entry|.*---line \d+ of file).*$", re.M)


def wanted(workdir: Path) -> bool:
    """Does the first pass's .aux cite anything from md2tex's database?"""
    aux = _read(workdir / f"{TEX_NAME}.aux")
    data = _BIBDATA.search(aux)
    return data is not None and _CITATION.search(aux) is not None


def run(workdir: Path, timeout: float) -> list[str]:
    """Run bibtex on the work dir's .aux; what went wrong, as lines (empty: all well). When
    it made no References, the cited keys are listed in their place (``_stand_in``)."""
    aux = _read(workdir / f"{TEX_NAME}.aux")
    problems = _bibtex(workdir, aux, timeout)
    if problems and "\\bibitem" not in _read(workdir / f"{TEX_NAME}.bbl"):
        _stand_in(workdir, aux, problems[0])
    return problems


def _bibtex(workdir: Path, aux: str, timeout: float) -> list[str]:
    data = _BIBDATA.search(aux)
    if data is None or data.group(1) != DATABASE or _STYLE.search(aux) is None:
        return ["the .aux names a bibliography database or style md2tex did not write"]
    if not (workdir / f"{DATABASE}.bib").is_file():
        return [f"{DATABASE}.bib was not written by the first pass"]
    exe = shutil.which("bibtex")
    if exe is None:
        return ["bibtex is not installed (Debian: texlive-binaries); no References"]
    env = {"PATH": os.pathsep.join(dict.fromkeys([str(Path(exe).parent), "/usr/bin", "/bin"])),
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
           "HOME": str(workdir), "TEXMFVAR": str(workdir / ".texmf-var"),
           "TEXMFCONFIG": str(workdir / ".texmf-config"),
           "TEXMFHOME": str(workdir / ".texmf-home"),
           "BIBINPUTS": str(workdir), "openin_any": "p", "openout_any": "p"}
    done = sandbox.run_helper([exe, "-terse", TEX_NAME], workdir, timeout,
                              address_space=MEMORY, fsize=FSIZE, env=env)
    if done.timed_out:
        return [f"bibtex did not finish within {timeout:g} s and was stopped"]
    problems = _COMPLAINT.findall(_read(workdir / f"{TEX_NAME}.blg"))
    if done.returncode < 0:
        problems.append(f"bibtex was killed by signal {-done.returncode}")
    elif done.returncode >= 2 and not problems:  # 1: warnings only
        problems.append(f"bibtex failed (exit status {done.returncode})")
    return problems


def _stand_in(workdir: Path, aux: str, problem: str) -> None:
    """References bibtex could not make: each cited key in bold with why, so the PDF still
    shows what the post cites (never a silent gap, never a TeX error)."""
    keys = [k for k in dict.fromkeys(k.strip() for cited in _CITED.findall(aux)
                                     for k in cited.split(",")) if k and k != "*"]
    items = [f"\\bibitem{{{key}}}\\textbf{{{escape_text(key)}}}" for key in keys
             if _SAFE_KEY.fullmatch(key)]
    text = "\n".join([f"\\begin{{thebibliography}}{{{len(items)}}}",
                      f"\\item[] \\textit{{bibtex: {escape_text(problem)}}}", *items,
                      "\\end{thebibliography}", ""])
    (workdir / f"{TEX_NAME}.bbl").write_text(text, encoding="utf-8")


def _read(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            return fh.read(MAX_READ).decode("utf-8", "replace")
    except OSError:
        return ""
