"""Running TeX and checking what it made: the only room that starts processes."""
