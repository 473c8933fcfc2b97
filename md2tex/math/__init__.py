"""One formula: checked, translated from MathJax/KaTeX habits, made LaTeX-safe."""
