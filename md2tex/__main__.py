"""``python -m md2tex``."""

from md2tex.cli.commands import main

main()
