"""Loading the worked example's package for the tests, through the package loader."""

from pathlib import Path

from linkwork.packages.services import load_package


def load(path: Path, *, actor=None):
    return load_package(actor=actor, path=path)
