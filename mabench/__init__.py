"""mabench: evaluate language models that answer with a distribution of candidates."""

__version__ = "0.1.0"
