"""md2tex's LaTeX templates, shipped as package data so a plain install finds them."""
