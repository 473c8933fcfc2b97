"""Which LaTeX packages this TeX installation has (``kpsewhich``, once per package and
process): the math checker asks through the function the pipeline hands it, so a formula
needing a missing optional package is a diagnostic, not a TeX error."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache


@cache
def installed(package: str) -> bool:
    """Whether TeX can find ``package``.sty."""
    exe = shutil.which("kpsewhich")
    if exe is None:
        return False
    try:
        proc = subprocess.run([exe, package + ".sty"], capture_output=True, text=True,
                              timeout=10, stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0 and bool(proc.stdout.strip())
