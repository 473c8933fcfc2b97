"""md2tex: Jekyll/kramdown Markdown posts with MathJax-style math to LaTeX and PDF.

The public API::

    import md2tex
    doc = md2tex.convert(text, md2tex.Options())      # no disk; TeX only for TeX programming
    doc.tex, doc.diagnostics
    md2tex.build_pdf(doc, "post.pdf")                 # runs TeX, writes atomically
    md2tex.convert(text, memo=md2tex.Memo.for_user())  # as the CLI: with the user's cache
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from md2tex.diagnostics import (
    BuildError,
    Diagnostic,
    EngineMissingError,
    InputError,
    Md2TexError,
    OutputError,
    Severity,
)
from md2tex.options import Options
from md2tex.version import __version__

if TYPE_CHECKING:
    from md2tex.document import Document
    from md2tex.memo import Memo
    from md2tex.pipeline import convert, convert_file
    from md2tex.site.batch import BatchReport, PostResult, convert_many
    from md2tex.tex.build import BuildResult, build_pdf

#: the rest of the API, imported on first use: ``import md2tex`` (and the CLI's start, which
#: imports this package first) does not pay for the Markdown parser, Jinja or the TeX runner
_LAZY = {"BatchReport": "site.batch", "PostResult": "site.batch", "convert_many": "site.batch",
         "BuildResult": "tex.build", "build_pdf": "tex.build", "Document": "document",
         "convert": "pipeline", "convert_file": "pipeline", "Memo": "memo"}


def __getattr__(name: str) -> Any:
    from importlib import import_module

    module = _LAZY.get(name)
    if module is None:
        # ``md2tex.pipeline`` and the other submodules, as when they were imported eagerly
        try:
            return import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module 'md2tex' has no attribute {name!r}") from None
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value

__all__ = [
    "BatchReport",
    "BuildError",
    "BuildResult",
    "Diagnostic",
    "Document",
    "EngineMissingError",
    "InputError",
    "Md2TexError",
    "Memo",
    "Options",
    "OutputError",
    "PostResult",
    "Severity",
    "__version__",
    "build_pdf",
    "convert",
    "convert_file",
    "convert_many",
]
