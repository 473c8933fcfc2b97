"""SVG to PDF with ``rsvg-convert``, run like TeX (``sandbox.run_helper``: bwrap, limits,
its own session, killed on timeout or interrupt), on a private copy of the SVG and the files
it references (``latex.images.svg_inputs``): the converter sees nothing else."""

from __future__ import annotations

import shutil
from pathlib import Path

from md2tex.tex import private_dir, sandbox

#: what one conversion may use: address space and output file size
CONVERT_MEMORY = 1024 * 1024 * 1024
CONVERT_FSIZE = 64 * 1024 * 1024


def svg_to_pdf(inputs: dict[str, bytes], main: str, timeout: float,
               ) -> tuple[bytes | None, str]:
    """Convert ``inputs[main]`` with ``rsvg-convert`` in a private folder holding only
    ``inputs`` (relative name -> bytes), under ``sandbox.run_helper``. (PDF bytes, "") or
    (None, why)."""
    exe = shutil.which("rsvg-convert")
    if exe is None:
        return None, "rsvg-convert is not installed; apt-get install librsvg2-bin"
    try:
        with private_dir.temporary("md2tex-rsvg-") as workdir:
            return _convert(exe, workdir, inputs, main, timeout)
    except OSError as exc:
        return None, f"rsvg-convert could not run: {exc.strerror or exc}"


def _convert(exe: str, workdir: Path, inputs: dict[str, bytes], main: str, timeout: float,
             ) -> tuple[bytes | None, str]:
    src = workdir / "src"
    for rel, content in inputs.items():
        dest = src / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(content)
    out = workdir / "out.pdf"
    done = sandbox.run_helper([exe, "-f", "pdf", "-o", str(out), str(src / main)],
                              workdir, timeout, address_space=CONVERT_MEMORY,
                              fsize=CONVERT_FSIZE)
    if done.timed_out:
        return None, f"rsvg-convert did not finish within {timeout:g} s and was stopped"
    try:
        with out.open("rb") as fh:
            pdf = fh.read(CONVERT_FSIZE + 1)
    except OSError:
        pdf = b""
    if done.returncode != 0 or not pdf.startswith(b"%PDF") or len(pdf) > CONVERT_FSIZE:
        message = done.stderr.strip().splitlines()
        reason = message[0][:120] if message else (
            f"killed by signal {-done.returncode}" if done.returncode < 0 else "failed")
        return None, "rsvg-convert: " + reason
    return pdf, ""
