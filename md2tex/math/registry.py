"""Command registries: which handler deals with a math command, by name.

The checker looks a command's name up instead of asking a chain of ``if name == ...``: adding
or changing a MathJax/KaTeX behaviour is one handler registered under its names (or one row
of the macro table), and no command has to fall past the others to reach its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

C = TypeVar("C")
H = TypeVar("H", bound=Callable[..., "int | None"])


class Registry(dict[str, Callable[[C, int, str, int, int], "int | None"]]):
    """Handlers by command name; ``@registry("name", ...)`` registers a method.

    A handler gets the checker, the token index, the command's name (no backslash) and its
    span in the formula; it returns the next token index when it has dealt with the command,
    or None to let the checker go on with what every command gets (table lookup, arguments).
    """

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def __call__(self, *names: str) -> Callable[[H], H]:
        def register(handler: H) -> H:
            for name in names:
                self.add(name, handler)
            return handler

        return register

    def add(self, name: str, handler: Callable[[C, int, str, int, int], int | None]) -> None:
        """Register ``handler`` for ``name``; a name has one handler per registry."""
        if name in self:
            raise ValueError(f"{self.label}: \\{name} has two handlers")
        self[name] = handler

    def include(self, other: Mapping[str, Callable[[C, int, str, int, int], int | None]]) -> None:
        """Add every handler of ``other`` (whose names must be new here)."""
        for name, handler in other.items():
            self.add(name, handler)
