"""md2tex: Jekyll/kramdown Markdown posts with MathJax-style math to LaTeX and PDF.

The public API::

    import md2tex
    opts = md2tex.load_config("my-site")              # what ``md2tex batch my-site`` uses
    doc = md2tex.convert(text, opts, path="my-site/_posts/post.md")  # images beside it
    doc.tex, doc.diagnostics                          # no disk; TeX only for TeX programming
    pdf = md2tex.build_pdf(doc)                       # the PDF's bytes (BuildError on failure)
    md2tex.build_pdf(doc, "post.pdf")                 # or written atomically
    md2tex.convert(text, memo=md2tex.Memo.for_user())  # as the CLI: with the user's cache

Extension points (``docs/embedding.md``): ``Options(macros=...)`` (math macros from Python),
``register_html_element`` (how a raw HTML element is typeset), ``register_include`` and
``register_tag`` (what a Liquid ``{% include %}`` or tag shows).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

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
    from md2tex.latex.html import register_element as register_html_element
    from md2tex.markdown.includes import register_include, register_tag
    from md2tex.memo import Memo
    from md2tex.pipeline import convert, convert_file
    from md2tex.site.batch import BatchInterrupted, BatchReport, PostResult
    from md2tex.site.remote import convert_many
    from md2tex.tex.build import BuildResult

#: the rest of the API, imported on first use: ``import md2tex`` (and the CLI's start, which
#: imports this package first) does not pay for the Markdown parser, Jinja or the TeX runner
_LAZY = {"BatchReport": "site.batch", "PostResult": "site.batch",
         "BatchInterrupted": "site.batch", "convert_many": "site.remote",
         "BuildResult": "tex.build", "Document": "document",
         "convert": "pipeline", "convert_file": "pipeline", "Memo": "memo"}
#: extension points other rooms provide: public name -> (module, its name there)
_EXTENSIONS = {"register_html_element": ("latex.html", "register_element"),
               "register_include": ("markdown.includes", "register_include"),
               "register_tag": ("markdown.includes", "register_tag")}


def __getattr__(name: str) -> Any:
    from importlib import import_module

    module, attribute = _EXTENSIONS.get(name) or (_LAZY.get(name), name)
    if module is None:
        # ``md2tex.pipeline`` and the other submodules, as when they were imported eagerly
        try:
            return import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module 'md2tex' has no attribute {name!r}") from None
    value = getattr(import_module(f".{module}", __name__), attribute)
    globals()[name] = value
    return value


@overload
def build_pdf(document: Document, output: None = None, *,
              timeout: float | None = None) -> bytes: ...


@overload
def build_pdf(document: Document, output: str | Path, *,
              timeout: float | None = None) -> BuildResult: ...


def build_pdf(document: Document, output: str | Path | None = None, *,
              timeout: float | None = None) -> bytes | BuildResult:
    """Typeset ``document`` with TeX. Without ``output``, return the PDF's bytes (nothing is
    left on disk); with it, write the PDF there atomically (a failed build never leaves a
    partial file) and return the ``BuildResult``. ``timeout``: seconds for TeX (default
    ``Options.timeout``). Raises ``InputError`` when the document has errors,
    ``BuildError`` when TeX fails (with ``diagnostics`` at Markdown lines, ``tex`` and
    ``log_tail``), ``EngineMissingError`` without TeX, ``OutputError`` when ``output``
    cannot be written."""
    from md2tex.tex import build, private_dir

    try:
        if output is not None:
            return build.build_pdf(document, output, timeout)
        with private_dir.temporary() as folder:
            target = folder / "post.pdf"
            build.build_pdf(document, target, timeout)
            return target.read_bytes()
    except BuildError as exc:
        exc.tex = exc.tex or document.tex
        raise


def load_config(folder_or_file: str | Path, *, config_file: str | Path | None = None,
                safe: bool = False) -> Options:
    """The ``Options`` ``md2tex batch`` would use for a site: ``folder_or_file`` is the site's
    folder, one of its posts, or a config file (``*.yaml``/``*.yml``, trusted like
    ``--config``). The site root is found as the command line finds it, with its
    ``md2tex.yaml`` (read as input: bounded by the trust rules) and Jekyll ``_config.yml``
    (``site.*``, the math engine). ``config_file``: as ``--config``; ``safe``: as
    ``--safe``. A config that cannot be used raises ``InputError`` naming file and key."""
    from md2tex.site.config import load_site_config

    where = Path(folder_or_file)
    if config_file is None and where.is_file() and where.suffix.lower() in (".yaml", ".yml"):
        where, config_file = where.parent, where
    config = load_site_config(where, None if config_file is None else Path(config_file),
                              safe=safe)
    return config.apply(Options(safe=safe))


__all__ = [
    "BatchInterrupted",
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
    "load_config",
    "register_html_element",
    "register_include",
    "register_tag",
]
