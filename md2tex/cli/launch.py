"""The ``md2tex`` console script (and ``python -m md2tex``): for ``md2tex post.md -o post.pdf``
it starts the post's early TeX process (``earlytex``) before the command-line interface and
its imports are loaded, then runs the CLI.

Loading the format and the recorded predocument takes TeX ~90 ms; started from the CLI, it
began ~130 ms into the process and was the last thing a rebuild waited for. The command line
is only glanced at here (one ``.md``/``.markdown`` file, a PDF or no output, no other
command); the CLI parses it for real, and an early process that does not fit the build it
decides on is killed as before (``EarlyTex.fits``)."""

from __future__ import annotations

import sys
from pathlib import Path

_COMMANDS = ("batch", "check", "convert")
_OUTPUT = ("-o", "--output")


def single_pdf_source(args: list[str]) -> Path | None:
    """The post of a single-post PDF build named by ``args``, if it looks like one."""
    if args and args[0] in _COMMANDS:
        if args[0] != "convert":
            return None
        args = args[1:]
    if any(a in ("-h", "--help", "--version") for a in args):
        return None
    posts = [a for a in args if a.lower().endswith((".md", ".markdown"))
             and not a.startswith("-")]
    output = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in _OUTPUT), None)
    output = next((a.split("=", 1)[1] for a in args if a.startswith("--output=")), output)
    if len(posts) != 1 or (output is not None and not output.lower().endswith(".pdf")):
        return None
    source = Path(posts[0])
    return source if source.is_file() else None


def main() -> None:
    try:
        source = single_pdf_source(sys.argv[1:])
        if source is not None:
            from md2tex.tex import earlytex

            earlytex.begin(source, timeout=None)
        from md2tex.cli.commands import main as cli_main
    except KeyboardInterrupt:  # Ctrl-C before the CLI could handle it: as the CLI would
        if "md2tex.tex.earlytex" in sys.modules:
            sys.modules["md2tex.tex.earlytex"].discard_pending()
        sys.stderr.write("md2tex: interrupted\n")
        sys.exit(130)
    sys.exit(cli_main())
