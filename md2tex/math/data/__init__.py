"""Tables of LaTeX math macros and environments read by md2tex.math.table."""
