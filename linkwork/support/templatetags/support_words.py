"""Codes stored in the data, in the words people read."""

from django import template

from linkwork.support.forms import TOPIC_LABELS
from linkwork.support.models import OutcomeArea

register = template.Library()

AREA_LABELS = dict(OutcomeArea.choices)


def _words(code: str, labels: dict) -> str:
    code = str(code)
    return labels.get(code) or code.replace("_", " ").capitalize()


@register.filter
def topics(codes) -> str:
    """An interaction's topics: "Friendships, Support plan and goals"."""
    return ", ".join(_words(code, TOPIC_LABELS) for code in codes or ())


@register.filter
def areas(codes) -> str:
    """A service's outcome areas by their names."""
    return ", ".join(_words(code, AREA_LABELS) for code in codes or ())
