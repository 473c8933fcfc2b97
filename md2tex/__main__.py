"""``python -m md2tex``."""

from .cli import main

main()
