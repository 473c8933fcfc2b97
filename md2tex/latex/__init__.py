"""Writing LaTeX: the renderer, raw HTML, code, images, metadata, the template."""
