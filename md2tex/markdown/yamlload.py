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
    loader = _BoundedLoader(yaml_text)
    loader.char_budget = budget.output_cap(len(yaml_text))
    try:
        loaded = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 2
        column = mark.column + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError("invalid front matter", [
            error("front-matter", f"invalid YAML front matter: {problem}", line,
                  column=column, path=path)]) from None
    except _AliasBomb:
        raise InputError("front matter alias bomb", [
            error("front-matter", "YAML front matter expands too much (alias bomb)", 2,
                  path=path)]) from None
    except RecursionError:
        raise InputError("front matter nested too deep", [
            error("front-matter", "YAML front matter is nested too deep", 2,
                  path=path)]) from None
    finally:
        loader.dispose()
    return loaded


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
