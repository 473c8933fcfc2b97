"""One catalogue of diagnostic codes: every code md2tex emits is in
``md2tex.diagnostic_codes.CODES`` and documented in docs/diagnostics.md."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from helpers import CASES, ROOT, SAMPLES

import md2tex
from md2tex.diagnostic_codes import CODES, markdown_table

PACKAGE = ROOT / "md2tex"
#: the functions that make a diagnostic from a code (the core's and the math checker's)
MAKERS = {"error", "warning", "note", "Diagnostic", "err", "warn", "fixed"}
CODE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")
#: code families: a string literal of one of these shapes anywhere in md2tex is a code
FAMILY = re.compile(r"^(math|mathjax|katex|image|liquid|tex|html|engine|missing|unsafe|"
                    r"output|input|link|time|pdf)-[a-z0-9-]+$")


def emitted_codes() -> dict[str, str]:
    """Codes in md2tex's source: passed to a diagnostic maker (literally or as a module
    constant), or literals of a code family (tables of (code, message) pairs)."""
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "diagnostic_codes.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {t.id: n.value.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                     and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
                     and CODE.match(n.value.value) for t in n.targets if isinstance(t, ast.Name)}
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else \
                    func.attr if isinstance(func, ast.Attribute) else ""
                if name not in MAKERS:
                    continue
                for arg in node.args[:3]:
                    value = arg.value if isinstance(arg, ast.Constant) else \
                        constants.get(arg.id) if isinstance(arg, ast.Name) else None
                    if isinstance(value, str) and CODE.match(value):
                        found.setdefault(value, where)
                        break
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and FAMILY.match(node.value):
                found.setdefault(node.value, where)
    return found


def test_every_code_in_the_source_is_catalogued() -> None:
    missing = {code: where for code, where in emitted_codes().items() if code not in CODES}
    assert not missing, f"add these to md2tex/diagnostic_codes.py: {missing}"


def test_the_scan_finds_codes() -> None:
    found = emitted_codes()  # the scan itself works: it sees codes of every room
    for code in ("math-undefined", "liquid-tag", "image-missing", "tex-error", "front-matter"):
        assert code in found, code


def test_the_docs_list_every_code() -> None:
    docs = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    assert markdown_table() in docs, "docs/diagnostics.md is out of date: regenerate its " \
        "table from md2tex.diagnostic_codes.markdown_table()"


@pytest.mark.parametrize("post", sorted([*SAMPLES.glob("*.md"), *CASES.glob("*.md")]),
                         ids=lambda p: p.name)
def test_codes_of_real_conversions_are_catalogued(post: Path) -> None:
    doc = md2tex.convert_file(post)
    unknown = [d.format() for d in doc.diagnostics if d.code not in CODES]
    assert not unknown, unknown
