"""Unique Pupil Numbers: validated with python-stdnum's implementation of the DfE rule."""

from stdnum.exceptions import ValidationError
from stdnum.gb import upn as _upn


def upn_problem(value: str) -> str | None:
    """Why `value` is not a valid UPN, or None if it is."""
    try:
        _upn.validate(value)
    except ValidationError as exc:
        if isinstance(exc, _upn.InvalidChecksum):
            return "wrong check letter"
        if isinstance(exc, _upn.InvalidLength):
            return "a UPN has 13 characters"
        return "not a UPN"
    if value != value.strip().upper():
        return "not a UPN (use capitals, no spaces)"
    return None


def make_upn(body: str) -> str:
    """A UPN from its last 12 characters, with the check letter computed."""
    return _upn.calc_check_digit(body) + body
