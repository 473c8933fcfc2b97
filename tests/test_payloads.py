"""Hostile posts: nothing leaks, nothing is written outside the work dir, nothing hangs.

Three canaries are planted before each case: a secret file outside the work dir, a secret in
``$HOME``, and a secret environment variable. Every payload sits in one place a post can put
text (math, code, link URL, image path, front matter, raw HTML, footnote, table cell,
heading, Liquid...). Each case is built with and without ``--safe``; whether it ends as a PDF,
a diagnostic or a TeX error does not matter, only that:

- no marker is in ``pdftotext`` output nor in the PDF bytes with every stream inflated;
- no file appeared outside the build's own temporary directory, and that one is gone;
- the call returned within timeout + 5 s and no process of the build survives.

SECURITY.md says which layer stops which case.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

import md2tex
from md2tex.tex import pdfcheck

pytestmark = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex")

TIMEOUT = 6.0
FILE_MARK = "CANARYFILE7731"
HOME_MARK = "CANARYHOME4410"
ENV_MARK = "CANARYENV9920"
MARKS = (FILE_MARK, HOME_MARK, ENV_MARK)

# {S}: absolute path of the secret file; {D}: its directory; {H}: $HOME
PAYLOADS: dict[str, str] = {
    # --- math
    "math-input": r"$\text{\input{{S}}}$",
    "math-input-selfauto": r"$\text{\input{\string$SELFAUTOPARENT/../../../..{S}}}$",
    "math-input-tilde": r"$\text{\input{\string~/secret.txt}}$",
    "math-input-home-var": r"$\text{\input{\string$HOME/secret.txt}}$",
    "math-pdfobj-file": r"$\immediate\pdfobj stream file{{S}}\pdfrefobj\pdflastobj$",
    "math-pdffiledump": r"$\text{\pdffiledump offset 0 length 64{{S}}}$",
    "math-csname": r"$\text{\csname input\endcsname{{S}}}$",
    "math-caret-notation": r"$\text{^^5cinput{{S}}}$",
    "math-catcode": r"$\catcode`\|=0 |input{{S}}$",
    "math-write18": r"$\immediate\write18{cat {S} > {D}/pwned18}$",
    "math-openout-abs": r"$\immediate\openout5={D}/pwned.tex\immediate\write5{x}"
                        r"\immediate\closeout5$",
    "math-openout-home": r"$\immediate\openout5=\string~/pwned.tex\immediate\write5{x}$",
    "math-pipe-input": r'$\text{\input|"env"}$',
    "math-loop": r"$\def\x{\x}\x$",
    "math-end-document": r"$x\end{document}$ after",
    "math-special": r"$\special{pdf: obj @x << /S /JavaScript /JS (1) >>}$",
    "math-pdfcatalog": r"$\pdfcatalog{/OpenAction << /S /JavaScript /JS (app.alert(1)) >>}$",
    "math-pdfannot-launch": r"$\pdfannot{/Subtype /Link /A << /S /Launch /F (calc) >>}x$",
    "math-href-js": r"$\text{\href{javascript:alert(1)}{x}}$",
    "math-url-file": r"$\text{\url{file:///etc/passwd}}$",
    "math-makeatletter": r"$\makeatletter\@input{{S}}$",
    "math-newcommand-input": r"$\newcommand{\x}{\input}\x{{S}}$",
    "math-read-file": r"$\openin1={S} \read1 to\x \text{\x}$",
    "math-iffileexists": r"$\IfFileExists{{S}}{\text{\input{{S}}}}{}$",
    "math-pdfximage": r"$\pdfximage{{S}}\pdfrefximage\pdflastximage$",
    "math-paren-delims": r"\(\text{\input{{S}}}\)",
    "math-display-env": "$$\\begin{align}\\text{\\input{{S}}}\\end{align}$$",
    "math-dollar-escape": r"$x$\input{{S}}$y$ and $a \text{$\input{{S}}$} b$",
    "math-directlua": r"$\directlua{tex.print(io.open('{S}'):read('*a'))}$",
    # the same primitives hidden from the math validator (^^5c is a backslash to TeX)
    "tex-caret-pdfobj": r"$\text{^^5cimmediate^^5cpdfobj stream file{{S}}^^5cpdfrefobj"
                        r"^^5cpdflastobj}$",
    "tex-caret-selfauto": r"$\text{^^5cinput{^^5cstring^^24SELFAUTOPARENT/../../../..{S}}}$",
    "tex-caret-home": r"$\text{^^5cinput{^^5cstring~/secret.txt}}$",
    "tex-caret-abs": r"$\text{^^5cinput{{S}}}$",
    "tex-caret-openout": r"$\text{^^5cimmediate^^5copenout5={D}/pwned.tex "
                         r"^^5cimmediate^^5cwrite5{x}^^5cimmediate^^5ccloseout5}$",
    "tex-caret-pdfcatalog": r"$\text{^^5cpdfcatalog{/OpenAction << /S /JavaScript /JS (1) >>}}$",
    "tex-caret-launch": r"$\text{^^5cpdfannot{/Subtype /Link /A << /S /Launch /F (calc) >>}x}$",
    # a \newcommand body is not looked into by the default validator: these reach TeX
    "tex-newcommand-pdfobj": r"$\newcommand{\x}{\immediate\pdfobj stream file{{S}}"
                             r"\pdfrefobj\pdflastobj}\x$",
    "tex-newcommand-openout": r"$\newcommand{\x}{\immediate\openout5={D}/pwned.tex"
                              r"\immediate\write5{x}\immediate\closeout5}\x$",
    "tex-newcommand-catalog": r"$\newcommand{\x}{\pdfcatalog{/OpenAction << /S /JavaScript "
                              r"/JS (app.alert(1)) >>}}\x$",
    "tex-newcommand-launch": r"$\newcommand{\x}{\pdfannot{/Subtype /Link /A << /S /Launch "
                             r"/F (calc) >>}}\x$",
    "tex-newcommand-uri": r"$\newcommand{\x}{\pdfannot{/Subtype /Link /A << /S /URI "
                          r"/URI (javascript:alert(1)) >>}}\x$",
    # --- code
    "code-verbatim-escape": "```python\n\\end{Verbatim}\\input{{S}}\\begin{Verbatim}\n```",
    "code-inline": "`\\input{{S}}` and `}\\input{{S}}{`",
    "code-unknown-lang": "```{}\\input{{S}}\n\\input{{S}}\n```",
    "code-unclosed": "```\n\\end{Verbatim}\\input{{S}}",
    # --- link URLs
    "url-javascript": "[x](javascript:alert(1))",
    "url-run": "[x](run:calc.exe)",
    "url-file": "[x](file://{S})",
    "url-tex-specials": "[x](http://a.b/}\\input{{S}}{)",
    "url-autolink": "<http://x.y/%\\input{{S}}>",
    "url-hash": "[x](http://e.com/#\\input{{S}})",
    "url-relative-pdf": "[x]({D}/other.pdf)",
    # --- image paths
    "image-secret": "![a]({S})",
    "image-traversal": "![a](../../../../../../..{S})",
    "image-title": "![a](x.png \"\\input{{S}}\")",
    "image-symlink": "![a](link.png)",
    # --- front matter
    "fm-title": "---\ntitle: '\\input{{S}}'\nauthor: '}\\input{{S}}{'\n---\nbody",
    "fm-date-desc": "---\ndate: '\\input{{S}}'\ndescription: '\\input{{S}}'\n"
                    "tags: ['\\input{{S}}']\n---\nbody",
    "fm-options": "---\nmd2tex:\n  template: '{S}'\n  macros: '\\input{{S}}'\n"
                  "  safe: false\n  base_dir: '/'\n---\n![a](secret.txt) $x$",
    # --- raw HTML
    "html-block": "<div>\n\\input{{S}}\n</div>",
    "html-inline": "text <span>\\input{{S}}</span> <script>alert(1)</script>",
    # --- footnotes, tables, headings
    "footnote": "x[^1]\n\n[^1]: \\input{{S}} $\\text{\\input{{S}}}$",
    "table-cell": "| a | b |\n|---|---|\n| \\input{{S}} | $\\text{\\input{{S}}}$ |",
    "heading": "# \\input{{S}} $\\text{\\input{{S}}}$",
    "link-text": "[\\input{{S}}](http://x.y) ![\\input{{S}}](nothing.png)",
    # --- Liquid and control characters
    "liquid-include": "{% include {S} %} {% include_relative ../secret.txt %} {{ site.x }}",
    "control-chars": "a\x00b\x1b[31mc\x07 \\input{{S}}\x0c",
}


def _fill(text: str, secret: Path, home: Path) -> str:
    return (text.replace("{S}", str(secret)).replace("{D}", str(secret.parent))
            .replace("{H}", str(home)))


def _snapshot(root: Path, skip: set[Path]) -> set[str]:
    out: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) in skip:
            dirnames[:] = []
            continue
        out.update(os.path.join(dirpath, f) for f in filenames + dirnames)
    return out


def _survivors(needle: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if needle.encode() in cmdline or cwd.startswith(needle):
            pids.append(int(entry.name))
    return pids


def _leaks(pdf: bytes) -> list[str]:
    found = []
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                          check=False, timeout=30).stdout
    for mark in MARKS:
        if mark.encode() in text:
            found.append(f"{mark} in pdftotext output")
        if any(mark.encode() in chunk for chunk in pdfcheck.chunks(pdf)):
            found.append(f"{mark} in the PDF bytes")
    return found


@dataclass
class Outcome:
    outcome: str
    seconds: float
    pdf: bytes | None


@dataclass
class Run:
    outcomes: dict[tuple[str, bool], Outcome]
    new_files: set[str]
    survivors: list[int]
    leftover_builds: list[Path]


def _setup(root: Path) -> dict[str, Path]:
    paths = {name: root / name for name in ("outside", "home", "builds", "posts", "cache")}
    for d in paths.values():
        d.mkdir()
    secret = paths["outside"] / "secret.txt"
    secret.write_text(f"{FILE_MARK}\n")
    (paths["home"] / "secret.txt").write_text(f"{HOME_MARK}\n")
    (paths["outside"] / "secret.png").write_bytes(b"\x89PNG\r\n\x1a\n" + FILE_MARK.encode() * 4)
    paths["secret"] = secret
    return paths


def _case_dir(paths: dict[str, Path], name: str, safe: bool) -> Path:
    return paths["posts"] / f"{name}-{'safe' if safe else 'default'}"


def _one(name: str, safe: bool, paths: dict[str, Path]) -> Outcome:
    case_dir = _case_dir(paths, name, safe)
    case_dir.mkdir()
    # an image-looking secret outside, a symlink to it beside the post
    (case_dir / "link.png").symlink_to(paths["outside"] / "secret.png")
    body = _fill(PAYLOADS[name], paths["secret"], paths["home"])
    text = body if body.startswith("---") else f"Before the payload.\n\n{body}\n\nAfter.\n"
    source = case_dir / "post.md"
    source.write_text(text, encoding="utf-8")
    output = case_dir / "post.pdf"
    started = time.monotonic()
    outcome = "pdf"
    try:
        doc = md2tex.convert_file(source, md2tex.Options(safe=safe, timeout=TIMEOUT))
        md2tex.build_pdf(doc, output)
    except md2tex.Md2TexError as exc:
        outcome = type(exc).__name__
    seconds = time.monotonic() - started
    return Outcome(outcome, seconds, output.read_bytes() if output.exists() else None)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """Every case, with and without --safe, built three at a time under one set of canaries
    (the canaries and the watched temp dir are process-wide, so the cases share them)."""
    root = tmp_path_factory.mktemp("payloads")
    paths = _setup(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(paths["home"]))
        mp.setenv("MD2TEX_CANARY", ENV_MARK)
        mp.setenv("XDG_CACHE_HOME", str(paths["cache"]))  # md2tex's own format cache
        mp.setattr(tempfile, "tempdir", str(paths["builds"]))
        skip = {paths["builds"], paths["cache"], paths["posts"]}
        before = _snapshot(root, skip)
        cases = [(name, safe) for name in sorted(PAYLOADS) for safe in (False, True)]
        with ThreadPoolExecutor(max_workers=3) as pool:
            futures = {case: pool.submit(_one, *case, paths) for case in cases}
            outcomes = {case: f.result() for case, f in futures.items()}
        new = _snapshot(root, skip) - before
        expected = {str(_case_dir(paths, n, s) / f) for n, s in cases
                    for f in ("link.png", "post.md", "post.pdf")}
        expected |= {str(_case_dir(paths, n, s)) for n, s in cases}
        new |= _snapshot(paths["posts"], set()) - expected
        yield Run(outcomes, new, _survivors(str(paths["builds"])),
                  list(paths["builds"].iterdir()))


def test_enough_cases() -> None:
    assert len(PAYLOADS) >= 40


def test_no_file_outside_the_work_dir(run: Run) -> None:
    assert run.new_files == set()


def test_no_process_survives(run: Run) -> None:
    assert run.survivors == []


def test_no_build_dir_left_behind(run: Run) -> None:
    assert run.leftover_builds == []


@pytest.mark.parametrize("safe", [False, True], ids=["default", "safe"])
@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_payload(name: str, safe: bool, run: Run) -> None:
    result = run.outcomes[(name, safe)]
    assert result.seconds < TIMEOUT + 5, f"{name}: took {result.seconds:.1f} s"
    if result.pdf is not None:
        assert _leaks(result.pdf) == [], f"{name} ({result.outcome})"
        assert pdfcheck.inspect(result.pdf) == []
    if safe and name.startswith(("math-", "tex-")) and name != "math-end-document":
        # --safe refuses every math payload before TeX runs
        assert result.outcome == "InputError", f"{name}: --safe let it through"


@pytest.mark.parametrize("name", ["tex-newcommand-catalog", "tex-newcommand-launch",
                                  "tex-newcommand-uri"])
def test_pdf_post_check_refuses_actions(name: str, run: Run) -> None:
    """These compile; only the PDF post-check stands between them and the reader."""
    assert run.outcomes[(name, False)].outcome == "BuildError"
    assert run.outcomes[(name, False)].pdf is None


@pytest.fixture
def canaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    paths = _setup(tmp_path)
    monkeypatch.setenv("HOME", str(paths["home"]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(paths["cache"]))
    monkeypatch.setattr(tempfile, "tempdir", str(paths["builds"]))
    paths["out"] = paths["posts"]
    return paths


@pytest.mark.skipif(shutil.which("lualatex") is None, reason="needs lualatex")
def test_lualatex_io_open_is_contained(canaries: dict[str, Path]) -> None:
    """LuaTeX's io.open ignores openin_any; only the sandbox (or --safe) stops it."""
    secret = canaries["secret"]
    text = ("---\nengine: lualatex\n---\n"
            f"$\\directlua{{tex.print(io.open('{secret}'):read('*a'))}}$\n")
    output = canaries["out"] / "lua.pdf"
    doc = md2tex.convert(text, md2tex.Options(timeout=30))
    try:
        result = md2tex.build_pdf(doc, output)
    except md2tex.Md2TexError:
        return  # the sandbox hid the file: io.open returned nil and TeX failed
    assert result.isolation == "bwrap" or not output.exists() or \
        _leaks(output.read_bytes()) == []
    if output.exists():
        assert _leaks(output.read_bytes()) == []
    safe_doc = md2tex.convert(text, md2tex.Options(safe=True))
    assert not safe_doc.ok
