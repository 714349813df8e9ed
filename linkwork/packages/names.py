"""Plainly synthetic names for generated zones: built from syllables, never from real people."""

import random

_GIVEN_START = "A Be Ca Da E Fa Ga Ha I Jo Ka La Mi Ni O Pa Ri Sa To U Va Ya Ze Ro".split()
_GIVEN_MIDDLE = ["", "", "", *"mi lo ri ve na di".split()]
_GIVEN_END = "n ra la bin mo sa ric ta lin ko ya der ne".split()

_FAMILY_START = (
    "Example Sample Demo Trial Pretend Fable Story Fiction Madeup Notreal Mockup Testing".split()
)
_FAMILY_END = "wood field brook ford ley ton worth shaw more dale by well".split()

_PLACE_START = (
    "North South East West Oak Elm Ash River Mill Green Hill Lark Fern Holly Wren Maple "
    "Willow Heron Kestrel Alder"
).split()
_PLACE_END = "brook field gate side wood bridge vale mead croft lands hurst combe".split()


def _pick(rng: random.Random, choices: list[str]) -> str:
    return choices[int(rng.random() * len(choices))]


def given_name(rng: random.Random) -> str:
    return _pick(rng, _GIVEN_START) + _pick(rng, _GIVEN_MIDDLE) + _pick(rng, _GIVEN_END)


def family_name(rng: random.Random) -> str:
    return _pick(rng, _FAMILY_START) + _pick(rng, _FAMILY_END)


def place_names(rng: random.Random):
    """Place names for schools and partners, each once, in a shuffled order."""
    places = [start + end for start in _PLACE_START for end in _PLACE_END]
    rng.shuffle(places)
    for suffix in ("", " Park", " Road", " Common", " Lane", " Green"):
        for place in places:
            yield place + suffix
    round_ = 2
    while True:
        for place in places:
            yield f"{place} {round_}"
        round_ += 1
