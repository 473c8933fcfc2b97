"""The private folder a TeX run or a helper program works in: new for each run, only this
user may enter it (mode 0700, so another local user can neither read the post nor swap a
file TeX is about to read), and removed whole afterwards.

``temporary`` is the usual form (a ``with`` block); ``create``/``remove`` are for a folder that
outlives the block that made it (``warmtex`` starts TeX in one that a later build goes on in).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PREFIX = "md2tex-"


def create(prefix: str = PREFIX) -> Path:
    """A new private folder under the temporary directory; the caller ``remove``s it.
    OSError when none can be made (no space, an unwritable ``TMPDIR``)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        # mkdtemp asks for 0700 already; a umask cannot widen it, but a platform might
        os.chmod(path, 0o700)
    except OSError:
        remove(path)
        raise
    return path


def remove(path: Path) -> None:
    """Remove ``path`` and everything in it; a folder already gone is no error."""
    shutil.rmtree(path, ignore_errors=True)


@contextmanager
def temporary(prefix: str = PREFIX) -> Iterator[Path]:
    """A private folder for the ``with`` block, removed when it ends however it ends."""
    path = create(prefix)
    try:
        yield path
    finally:
        remove(path)
