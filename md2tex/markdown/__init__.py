"""Reading a post: bytes, front matter, Liquid, Markdown tokens, math delimiters."""
