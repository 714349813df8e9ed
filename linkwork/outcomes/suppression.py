"""Which counts of one measure's row in the cohort outcome report are suppressed, so that
no child can be singled out: not from a count, nor by subtracting one count from another.

Pure: the row's counts and the minimum (N) in, the names of the counts to suppress out.
A row's counts nest: children with a baseline, of them at risk at baseline, of them
followed up at a wave, of them crossed the threshold and (apart) improved but not
across, and reliable change (only ever of children who improved). Subtracting shown
counts gives the groups in between, so a row describes, at each wave, these groups:

    not at risk at baseline      with a baseline − at risk
    not followed up              at risk − followed up
    crossed the threshold        crossed
    improved, not across         improved, not across
    not improved                 followed up − crossed − improved, not across
    reliable change              reliable
    no reliable change           followed up − reliable

Every count the row states or lets a reader work out is a sum of some of one wave's
first five groups, or of its first two and last two.

1. A sum from 1 to N − 1 is sensitive (a small count, or the complement of one).
2. A zero is sensitive where it says that every child of a group (of one or more) shares
   an outcome: all or none of those with a baseline at risk; all or none of those
   followed up crossed, improved (crossed or not), or changed reliably. "Followed up" is
   not an outcome, so a zero there (everyone, or no one, has data) is shown.
3. A shown count that is itself sensitive is suppressed (primary). Then more counts
   are suppressed, the least useful first (`COST`), until no sensitive sum can be
   worked out: for each, another row that agrees with every shown count and every
   relation above gives it a different value (one child moved). Counts suppressed on
   the way that turn out not to be needed are shown again, the most useful first.

A wave that has not come yet is known to count zero everywhere and is always shown as
such. See docs/outcomes.md.
"""

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

WAVE_COUNTS = ("followed_up", "crossed", "improved_not_across", "reliable")
# Which count to give up first when one more must be suppressed.
COST = {
    "reliable": 0,
    "improved_not_across": 1,
    "crossed": 2,
    "followed_up": 3,
    "at_risk": 4,
    "with_baseline": 5,
}

Form = dict[str, int]  # a count as a sum of the row's counts: {name: +1 or -1}


@dataclass(frozen=True)
class WaveCells:
    followed_up: int
    crossed: int
    improved_not_across: int
    reliable: int | None = None  # None: the measure has no SD and reliability
    due: bool = True  # False: the wave has come for no child, so every count is a known 0


@dataclass(frozen=True)
class RowCells:
    with_baseline: int
    at_risk: int | None = None  # None: no threshold, so no one is followed
    waves: tuple[tuple[str, WaveCells], ...] = ()  # (key, counts), e.g. ("mid", …)


def _add(forms: Iterable[Form]) -> Form:
    total: Form = {}
    for form in forms:
        for name, coefficient in form.items():
            total[name] = total.get(name, 0) + coefficient
    return {name: c for name, c in total.items() if c}


def _key(form: Form) -> tuple:
    return tuple(sorted(form.items()))


def _steps(names: list[str]) -> Iterator[Form]:
    """Every change of −1, 0 or +1 to each of `names`."""
    for steps in itertools.product((-1, 0, 1), repeat=len(names)):
        yield dict(zip(names, steps, strict=True))


class _Row:
    """One row's counts, the relations between them and its sensitive sums."""

    def __init__(self, row: RowCells, minimum: int):
        self.values = {"with_baseline": row.with_baseline}
        self.fixed: set[str] = set()  # the counts of a wave not yet due: shown, known 0
        self.waves: dict[str, list[str]] = {}
        self.scope: dict[str, str | None] = {"with_baseline": None}
        self.checks: dict[str | None, list[Form]] = {None: [{"with_baseline": 1}]}
        families: list[tuple[dict[str, Form], list[tuple[set[str], int]]]] = []
        if row.at_risk is None:
            families.append(({"with a baseline": {"with_baseline": 1}}, []))
        else:
            self.values["at_risk"] = row.at_risk
            self.scope["at_risk"] = None
            not_at_risk = {"with_baseline": 1, "at_risk": -1}
            self.checks[None].append(not_at_risk)
            everyone = row.with_baseline
            families.append(
                (
                    {"not at risk": not_at_risk, "at risk": {"at_risk": 1}},
                    [({"not at risk"}, everyone), ({"at risk"}, everyone)],
                )
            )
            for key, wave in row.waves:
                families.extend(self._wave(key, wave, not_at_risk))
        self.sensitive: dict[tuple, Form] = {}
        for leaves, zero_rules in families:
            for size in range(1, len(leaves) + 1):
                for chosen in itertools.combinations(leaves, size):
                    form = _add(leaves[name] for name in chosen)
                    value = self.value(form)
                    zero_rule = any(set(chosen) == z and group > 0 for z, group in zero_rules)
                    if 0 < value < minimum or (value == 0 and zero_rule):
                        self.sensitive[_key(form)] = form
        self._alternatives: dict[frozenset, dict] = {}

    def _wave(self, key: str, wave: WaveCells, not_at_risk: Form):
        followed, crossed, improved, reliable = (f"{key}_{name}" for name in WAVE_COUNTS)
        names = [followed, crossed, improved]
        counts = [wave.followed_up, wave.crossed, wave.improved_not_across]
        if wave.reliable is not None:
            names.append(reliable)
            counts.append(wave.reliable)
        self.values.update(zip(names, counts, strict=True))
        self.scope.update(dict.fromkeys(names, key))
        self.waves[key] = names
        not_followed = {"at_risk": 1, followed: -1}
        if not wave.due:
            self.fixed.update(names)
            self.checks[key] = [not_followed]
            return [({"not at risk": not_at_risk, "not followed up": not_followed}, [])]
        not_improved = {followed: 1, crossed: -1, improved: -1}
        self.checks[key] = [not_followed, {crossed: 1}, {improved: 1}, not_improved]
        group = wave.followed_up
        verdicts = {
            "not at risk": not_at_risk,
            "not followed up": not_followed,
            "crossed": {crossed: 1},
            "improved, not across": {improved: 1},
            "not improved": not_improved,
        }
        families = [
            (
                verdicts,
                [
                    ({"crossed"}, group),
                    ({"improved, not across", "not improved"}, group),
                    ({"crossed", "improved, not across"}, group),
                    ({"not improved"}, group),
                ],
            )
        ]
        if wave.reliable is not None:
            not_reliable = {followed: 1, reliable: -1}
            # reliable change only among children who improved: reliable <= crossed + improved
            self.checks[key] += [
                {reliable: 1},
                not_reliable,
                {crossed: 1, improved: 1, reliable: -1},
            ]
            families.append(
                (
                    {
                        "not at risk": not_at_risk,
                        "not followed up": not_followed,
                        "reliable change": {reliable: 1},
                        "no reliable change": not_reliable,
                    },
                    [({"reliable change"}, group), ({"no reliable change"}, group)],
                )
            )
        return families

    def value(self, form: Form, step: Form | None = None) -> int:
        step = step or {}
        return sum(c * (self.values[name] + step.get(name, 0)) for name, c in form.items())

    def cost(self, name: str) -> tuple:
        column = name if self.scope[name] is None else name.split("_", 1)[1]
        return (COST[column], self.values[name], name)

    def alternatives(self, hidden: frozenset) -> dict:
        """Per wave (and None: the baseline counts alone), the changes of −1, 0 or +1 to
        the hidden counts that keep every relation; the other wave must stay consistent
        too (the waves share only the count at risk)."""
        if hidden in self._alternatives:
            return self._alternatives[hidden]
        found: dict = {None: [], **{key: [] for key in self.waves}}
        top = [name for name in ("with_baseline", "at_risk") if name in hidden]
        for step in _steps(top):
            if not self._holds(None, step):
                continue
            per_wave = {
                key: [
                    both
                    for inner in _steps([name for name in names if name in hidden])
                    if self._holds(key, both := {**step, **inner})
                ]
                for key, names in self.waves.items()
            }
            if all(per_wave.values()):
                found[None].append(step)
                for key, steps in per_wave.items():
                    found[key].extend(steps)
        self._alternatives[hidden] = found
        return found

    def _holds(self, scope: str | None, step: Form) -> bool:
        return all(self.value(form, step) >= 0 for form in self.checks[scope])

    def pinned(self, form: Form, hidden: frozenset) -> bool:
        """Whether the shown counts leave only one value for `form`."""
        if not any(name in hidden for name in form):
            return True
        scope = next((self.scope[n] for n in form if self.scope[n] is not None), None)
        return all(
            sum(c * step.get(name, 0) for name, c in form.items()) == 0
            for step in self.alternatives(hidden)[scope]
        )

    def exposed(self, hidden: frozenset) -> Form | None:
        """The first sensitive sum the shown counts give away, if any."""
        return next((f for f in self.sensitive.values() if self.pinned(f, hidden)), None)


def suppressed_cells(row: RowCells, minimum: int) -> frozenset[str]:
    """The counts of `row` to suppress (names as in `WAVE_COUNTS`, prefixed by the wave's
    key, and "with_baseline", "at_risk") so that no sensitive count can be worked out."""
    counts = _Row(row, minimum)
    primary = frozenset(
        name
        for name in counts.values
        if name not in counts.fixed and _key({name: 1}) in counts.sensitive
    )
    hidden = primary
    while (target := counts.exposed(hidden)) is not None:
        # Hiding every count (but a wave not yet due) leaves nothing exposed, since any
        # group can gain a child; so there is always a candidate while one is exposed.
        candidates = sorted(
            (n for n in counts.values if n not in hidden and n not in counts.fixed),
            key=counts.cost,
        )
        choice = next(
            (n for n in candidates if not counts.pinned(target, hidden | {n})),
            next((n for n in candidates if n in target), candidates[0]),
        )
        hidden |= {choice}
    shown_again = True
    while shown_again:
        shown_again = False
        for name in sorted(hidden - primary, key=counts.cost, reverse=True):
            if counts.exposed(hidden - {name}) is None:
                hidden -= {name}
                shown_again = True
    return hidden
