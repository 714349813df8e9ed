"""The tests' copy of the spec's worked example is the spec's, byte for byte."""

from pathlib import Path

import pytest

from .example import EXAMPLE

# The checkout sits beside the shared folder that holds the specification.
SPEC_EXAMPLE = Path(__file__).resolve().parents[3].parent / "shared/spec/examples/contract-example"


@pytest.mark.skipif(
    not SPEC_EXAMPLE.is_dir(), reason="the shared spec folder is not beside the checkout"
)
def test_copy_matches_the_specification():
    def files(root):
        return {
            p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
        }

    assert files(EXAMPLE) == files(SPEC_EXAMPLE)
