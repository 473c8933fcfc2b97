"""PyYAML with the limits md2tex needs: front matter is parsed safely, an alias bomb is
refused, and an impossible value is a YAML error at its line (imported only when a front
matter is not remembered by ``memo``).

An alias bomb is measured as the front matter would be once expanded (every later step,
from ``memo``'s JSON to the keywords of the PDF, copies what an alias repeats): nodes
visited through aliases and the characters of the scalars reached, against a budget in
proportion to the YAML text (``budget.output_cap``). PyYAML composes nested collections
recursively: nesting past Python's recursion limit is an error too, not a crash."""

from __future__ import annotations

from typing import Any

import yaml

from md2tex import budget
from md2tex.diagnostics import InputError, error


def load_front_matter(yaml_text: str, path: str) -> Any:
    """The YAML value, or InputError at the Markdown line (front matter starts on line 2)."""
    try:
        return load_bounded(yaml_text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 2
        column = mark.column + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError("invalid front matter", [
            error("front-matter", f"invalid YAML front matter: {problem}", line,
                  column=column, path=path)]) from None
    except TooMuch as exc:
        raise InputError(f"front matter {exc.short}", [
            error("front-matter", f"YAML front matter {exc}", 2, path=path)]) from None


def load_bounded(yaml_text: str) -> Any:
    """The value of ``yaml_text`` within the limits above, for every YAML a post or a site
    brings (front matter, ``md2tex.yaml``, ``_config.yml``). ``yaml.YAMLError`` (with its
    ``problem_mark``) when it does not parse or holds an impossible value; ``TooMuch`` when
    it expands too much or nests too deep."""
    loader = _BoundedLoader(yaml_text)
    loader.char_budget = budget.output_cap(len(yaml_text))
    try:
        return loader.get_single_data()
    except _AliasBomb:
        raise TooMuch("expands too much (alias bomb)", "alias bomb") from None
    except RecursionError:
        raise TooMuch("is nested too deep", "nested too deep") from None
    finally:
        loader.dispose()


class TooMuch(Exception):
    """YAML whose text is small enough but whose value is not. ``str()``: what is wrong, to
    follow the name of the file or section ("... expands too much (alias bomb)");
    ``short``: the same in two words."""

    def __init__(self, message: str, short: str) -> None:
        super().__init__(message)
        self.short = short


class _AliasBomb(Exception):
    pass


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses documents whose aliases expand into too many nodes or
    characters."""

    _budget = 100_000
    char_budget = budget.HARD_CAP

    def construct_document(self, node: yaml.Node) -> Any:
        self._count_nodes(node, set())
        return super().construct_document(node)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # a well-formed scalar can still be an impossible value (``date: 2018-02-30``,
        # ``!!int abc``): PyYAML then raises ValueError & co., not a YAMLError
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a valid value ({exc})",
                node.start_mark) from None

    def _count_nodes(self, root: yaml.Node, seen: set[int]) -> None:
        count = chars = 0
        stack = [root]
        while stack:
            node = stack.pop()
            count += 1
            if count > self._budget:
                raise _AliasBomb
            if isinstance(node, yaml.ScalarNode):
                chars += len(node.value)
                if chars > self.char_budget:
                    raise _AliasBomb
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
            elif isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    stack.append(k)
                    stack.append(v)
