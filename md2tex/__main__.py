"""``python -m md2tex``."""

from .launch import main

main()
