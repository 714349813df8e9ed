"""Linkwork: software for place-based children's programmes."""

__version__ = "0.1.0"
