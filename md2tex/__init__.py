"""md2tex: Jekyll/kramdown Markdown posts with MathJax-style math to LaTeX and PDF.

The public API::

    import md2tex
    doc = md2tex.convert(text, md2tex.Options())      # pure: no disk, no TeX
    doc.tex, doc.diagnostics
    md2tex.build_pdf(doc, "post.pdf")                 # runs TeX, writes atomically
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from .build import BuildResult, build_pdf
from .diagnostics import (
    BuildError,
    Diagnostic,
    EngineMissingError,
    InputError,
    Md2TexError,
    OutputError,
    Severity,
)
from .document import Document
from .options import Options
from .pipeline import convert, convert_file

if TYPE_CHECKING:
    from .batch import BatchReport, PostResult, convert_many


def __getattr__(name: str) -> Any:
    """The batch API is imported on first use: a single-post run does not pay for it."""
    if name in ("BatchReport", "PostResult", "convert_many"):
        from . import batch

        return getattr(batch, name)
    raise AttributeError(f"module 'md2tex' has no attribute {name!r}")

__all__ = [
    "BatchReport",
    "BuildError",
    "BuildResult",
    "Diagnostic",
    "Document",
    "EngineMissingError",
    "InputError",
    "Md2TexError",
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
