"""``python -m md2tex``."""

from md2tex.cli.launch import main

main()
