"""Where an image lives and what name the .tex gives it; the build copies it as bytes."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: what the engine can include, by the file's first bytes
_MAGIC = {b"\x89PNG": ".png", b"\xff\xd8\xff": ".jpg", b"%PDF": ".pdf"}
_CLEAN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]*")
MAX_IMAGE_BYTES = 50 * 1024 * 1024


@dataclass
class Found:
    #: the name to use in ``\\includegraphics``, or None for a placeholder
    name: str | None
    diagnostic: tuple[str, str] | None = None


@dataclass
class ImageResolver:
    """Resolves image URLs against the post's folder and the site's resource path."""

    base_dir: Path | None
    resource_path: Sequence[Path] = ()
    #: name in the .tex -> absolute path of the file to copy into the build directory
    resources: dict[str, str] = field(default_factory=dict)

    def resolve(self, src: str) -> Found:
        parsed = urllib.parse.urlsplit(src)
        if parsed.scheme in ("http", "https", "ftp") or src.startswith("//"):
            return Found(None, ("image-remote", f"remote image {src!r} is not downloaded; "
                                "a placeholder is shown"))
        if parsed.scheme and parsed.scheme != "file":
            return Found(None, ("image-scheme", f"image {src[:60]!r} is not a file; "
                                "a placeholder is shown"))
        rel = urllib.parse.unquote(parsed.path)
        path = self._find(rel)
        if path is None:
            return Found(None, ("image-missing", f"image {src!r} not found; a placeholder is "
                                "shown"))
        kind = _kind(path)
        if kind is None:
            return Found(None, ("image-format", f"image {src!r} is not PNG, JPEG or PDF; "
                                "a placeholder is shown"))
        return Found(self._name_for(rel, path, kind))

    def _find(self, rel: str) -> Path | None:
        candidates: list[Path] = []
        if rel.startswith("/"):
            candidates += [Path(d) / rel.lstrip("/") for d in self.resource_path]
            if self.base_dir is not None:
                candidates += [p / rel.lstrip("/") for p in [self.base_dir, *self.base_dir.parents]]
        else:
            if self.base_dir is not None:
                candidates.append(self.base_dir / rel)
            candidates += [Path(d) / rel for d in self.resource_path]
        for cand in candidates:
            try:
                if cand.is_file():
                    return cand.resolve()
            except OSError:
                continue
        return None

    def _name_for(self, rel: str, path: Path, kind: str) -> str:
        for name, existing in self.resources.items():
            if existing == str(path):
                return name
        rel = rel.lstrip("/")
        clean = (_CLEAN_NAME.fullmatch(rel) and ".." not in rel.split("/")
                 and rel.lower().endswith(kind if kind != ".jpg" else (".jpg", ".jpeg")))
        name = rel if clean else f"md2tex-images/image{len(self.resources) + 1}{kind}"
        self.resources[name] = str(path)
        return name


def _kind(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_IMAGE_BYTES:
            return None
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError:
        return None
    for magic, ext in _MAGIC.items():
        if head.startswith(magic):
            return ext
    return None
