"""Small-number suppression of a measure's row (docs/outcomes.md), on worked rows and, as
a property, against every row a reader could reconstruct from what is shown."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkwork.outcomes.suppression import RowCells, WaveCells, suppressed_cells

NOT_DUE = WaveCells(0, 0, 0, 0, due=False)


def row(with_baseline, at_risk=None, mid=None, end=None):
    waves = tuple((key, wave) for key, wave in (("mid", mid), ("end", end)) if wave)
    return RowCells(with_baseline, at_risk, waves)


CASES = [
    # (row, N, suppressed)
    # Large groups: nothing to hide.
    (
        row(200, 80, WaveCells(80, 30, 25, 20), WaveCells(75, 40, 20, 30)),
        5,
        set(),
    ),
    # The review's case: 9 at risk, all followed up, 8 crossed, 0 improved but not
    # across: the one child not improved is given away by 9 - 8 - 0, and 6 reliable
    # leaves 3 without. Crossed and reliable go; 0 improved, not across may show.
    (
        row(30, 9, WaveCells(9, 8, 0, 6), NOT_DUE),
        5,
        {"mid_crossed", "mid_reliable"},
    ),
    # 3 of 80 at risk have no mid-point (80 - 77): followed up goes, and its shares.
    (
        row(200, 80, WaveCells(77, 30, 25, 20), WaveCells(80, 40, 20, 30)),
        5,
        {"mid_followed_up"},
    ),
    # Everyone with a baseline at risk (a zero not at risk), and all followed up, so the
    # count at risk alone would not hide it: with a baseline goes.
    (
        row(6, 6, WaveCells(6, 5, 1, 5), NOT_DUE),
        5,
        {"with_baseline", "mid_crossed", "mid_improved_not_across", "mid_reliable"},
    ),
    # Every child followed up crossed, and changed reliably: group outcomes, not shown.
    # 0 improved, not across may show: crossed or not improved, 12 in all.
    (
        row(40, 12, WaveCells(12, 12, 0, 12), NOT_DUE),
        5,
        {"mid_crossed", "mid_reliable"},
    ),
    # No child changed reliably; no child crossed: the zeros are not shown.
    (row(40, 20, WaveCells(20, 8, 6, 0), NOT_DUE), 5, {"mid_reliable"}),
    (row(40, 20, WaveCells(20, 0, 6, 5), NOT_DUE), 5, {"mid_crossed"}),
    # 0 improved, not across says nothing about all of a group: shown.
    (row(40, 20, WaveCells(20, 8, 0, 5), NOT_DUE), 5, set()),
    # A wave not yet due is never suppressed: its zeros are known.
    (row(40, 20, NOT_DUE, NOT_DUE), 5, set()),
    # No threshold: only the count with a baseline, suppressed when small.
    (row(12), 5, set()),
    (row(3), 5, {"with_baseline"}),
    (row(0), 5, set()),
    # The worked example (children A to E) with N = 2.
    (
        row(4, 3, WaveCells(3, 1, 1, 1), WaveCells(2, 2, 0, 1)),
        2,
        {
            "at_risk",
            "mid_followed_up",
            "mid_crossed",
            "mid_improved_not_across",
            "mid_reliable",
            "end_crossed",
            "end_reliable",
        },
    ),
]


@pytest.mark.parametrize(("cells", "minimum", "suppressed"), CASES)
def test_suppressed_cells(cells, minimum, suppressed):
    assert suppressed_cells(cells, minimum) == suppressed
    assert_nothing_recoverable(cells, minimum, suppressed)


# The property, checked by brute force: name the groups a row describes, list every row
# of counts that agrees with what is shown, and see that each sensitive sum of groups
# (and each suppressed count) could be more than one number.


def groups(counts, key, reliable):
    """The groups of one wave: (verdict split, reliable change split), as {name: count}."""
    f, c, i, r = (counts.get(f"{key}_{n}", 0) for n in WAVE_NAMES)
    base = {
        "not at risk": counts["with_baseline"] - counts["at_risk"],
        "not followed up": counts["at_risk"] - f,
    }
    verdicts = {**base, "crossed": c, "improved": i, "not improved": f - c - i}
    reliability = {**base, "reliable": r, "not reliable": f - r} if reliable else None
    return verdicts, reliability


WAVE_NAMES = ("followed_up", "crossed", "improved_not_across", "reliable")
ZERO_RULES = {  # (group, the groups summed): a zero says all the group share an outcome
    ("with_baseline", frozenset({"not at risk"})),
    ("with_baseline", frozenset({"at risk"})),
    ("followed_up", frozenset({"crossed"})),
    ("followed_up", frozenset({"improved", "not improved"})),
    ("followed_up", frozenset({"crossed", "improved"})),
    ("followed_up", frozenset({"not improved"})),
    ("followed_up", frozenset({"reliable"})),
    ("followed_up", frozenset({"not reliable"})),
}


def sums(counts, cells):
    """Every sum of groups a row states or implies: {(wave, names): count}."""
    if cells.at_risk is None:
        return {(None, frozenset({"with a baseline"})): counts["with_baseline"]}
    not_at_risk = counts["with_baseline"] - counts["at_risk"]
    found = {
        (None, frozenset({"not at risk"})): not_at_risk,
        (None, frozenset({"at risk"})): counts["at_risk"],
    }
    for key, wave in cells.waves:
        for split in groups(counts, key, wave.reliable is not None):
            if split is None:
                continue
            names = [n for n in split if wave.due or n in ("not at risk", "not followed up")]
            for size in range(1, len(names) + 1):
                for chosen in itertools.combinations(names, size):
                    found[key, frozenset(chosen)] = sum(split[n] for n in chosen)
    return found


def sensitive(cells, minimum):
    counts = as_counts(cells)
    marked = set()
    for (key, chosen), value in sums(counts, cells).items():
        group_of = {"with_baseline": counts["with_baseline"]}
        group_of["followed_up"] = counts.get(f"{key}_followed_up", 0)
        zero = any(chosen == names and group_of[g] > 0 for g, names in ZERO_RULES)
        if 0 < value < minimum or (value == 0 and zero):
            marked.add((key, chosen))
    return marked


def as_counts(cells):
    counts = {"with_baseline": cells.with_baseline}
    if cells.at_risk is not None:
        counts["at_risk"] = cells.at_risk
        for key, wave in cells.waves:
            for name in WAVE_NAMES:
                if getattr(wave, name) is not None:
                    counts[f"{key}_{name}"] = getattr(wave, name)
    return counts


def consistent_rows(cells, shown, limit):
    """Every row of counts up to `limit` agreeing with the shown counts and relations."""

    def values(name, upper):
        return [shown[name]] if name in shown else range(upper + 1)

    for with_baseline in values("with_baseline", limit):
        if cells.at_risk is None:
            yield {"with_baseline": with_baseline}
            continue
        for at_risk in values("at_risk", with_baseline):
            if shown.get("at_risk", at_risk) > with_baseline:
                continue
            per_wave = []
            for key, wave in cells.waves:
                options = []
                for f in values(f"{key}_followed_up", at_risk):
                    for c in values(f"{key}_crossed", f):
                        for i in values(f"{key}_improved_not_across", f - c):
                            reliable = [None] if wave.reliable is None else None
                            for r in reliable or values(f"{key}_reliable", c + i):
                                if f <= at_risk and c + i <= f and (r is None or r <= c + i):
                                    option = {
                                        f"{key}_followed_up": f,
                                        f"{key}_crossed": c,
                                        f"{key}_improved_not_across": i,
                                    }
                                    if r is not None:
                                        option[f"{key}_reliable"] = r
                                    options.append(option)
                per_wave.append(options)
            for combination in itertools.product(*per_wave):
                counts = {"with_baseline": with_baseline, "at_risk": at_risk}
                for option in combination:
                    counts.update(option)
                yield counts


def assert_nothing_recoverable(cells, minimum, suppressed):
    counts = as_counts(cells)
    shown = {name: value for name, value in counts.items() if name not in suppressed}
    marked = sensitive(cells, minimum)
    seen_sums = {expression: set() for expression in marked}
    seen_cells = {name: set() for name in suppressed}
    limit = max(counts.values()) + 2
    for candidate in consistent_rows(cells, shown, limit):
        values = sums(candidate, cells)
        for expression, seen in seen_sums.items():
            seen.add(values[expression])
        for name, seen in seen_cells.items():
            seen.add(candidate[name])
        if all(len(s) > 1 for s in [*seen_sums.values(), *seen_cells.values()]):
            return
    pinned = [e for e, s in seen_sums.items() if len(s) == 1]
    pinned += [n for n, s in seen_cells.items() if len(s) == 1]
    raise AssertionError(f"recoverable from the shown counts: {pinned}")


@st.composite
def rows(draw):
    minimum = draw(st.integers(2, 5))
    if draw(st.integers(0, 9)) == 0:
        return RowCells(draw(st.integers(0, 8))), minimum
    at_risk = draw(st.integers(0, 6))
    measured = draw(st.booleans())
    waves = []
    for key in ("mid", "end"):
        if draw(st.integers(0, 4)) == 0:
            waves.append((key, WaveCells(0, 0, 0, 0 if measured else None, due=False)))
            continue
        followed = draw(st.integers(0, at_risk))
        crossed = draw(st.integers(0, followed))
        improved = draw(st.integers(0, followed - crossed))
        reliable = draw(st.integers(0, crossed + improved)) if measured else None
        waves.append((key, WaveCells(followed, crossed, improved, reliable)))
    with_baseline = at_risk + draw(st.integers(0, 4))
    return RowCells(with_baseline, at_risk, tuple(waves)), minimum


@settings(max_examples=300, deadline=None)
@given(rows())
def test_no_sensitive_count_can_be_worked_out_from_what_is_shown(case):
    cells, minimum = case
    suppressed = suppressed_cells(cells, minimum)
    assert_nothing_recoverable(cells, minimum, suppressed)
