import shutil

import pytest

from .example import EXAMPLE


@pytest.fixture
def example_package(tmp_path):
    """A copy of the worked example: `package/` and `corrected/` under tmp_path."""
    shutil.copytree(EXAMPLE / "package", tmp_path / "package")
    shutil.copytree(EXAMPLE / "corrected", tmp_path / "corrected")
    return tmp_path
