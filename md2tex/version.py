"""md2tex's version: one place, read by the package, the caches' keys and the batch report."""

__version__ = "0.1.0"
