"""The engagement rules, table-driven, without a database."""

import datetime as dt
from decimal import Decimal

import pytest

from linkwork.core.documents import DocumentError
from linkwork.engagement.queries import default_rules_source
from linkwork.engagement.rules import (
    ChildEngagement,
    Mark,
    evaluate_flags,
    parse_rules,
    rules_as_document,
    rules_from_document,
    status_of,
)

TODAY = dt.date(2026, 3, 20)  # a Friday
DEFAULT = parse_rules(default_rules_source())


def marks(pattern: str, last: dt.date = dt.date(2026, 3, 16)) -> tuple[Mark, ...]:
    """'YYN' = attended, attended, missed, one week apart, ending on `last`."""
    n = len(pattern)
    return tuple(
        Mark(date=last - dt.timedelta(weeks=n - 1 - i), attended=c == "Y")
        for i, c in enumerate(pattern)
    )


def child(pattern="", last_contact=dt.date(2026, 3, 19), review=None, enrolled=None):
    return ChildEngagement(
        marks=marks(pattern),
        last_interaction_on=last_contact,
        review_due_on=review,
        enrolled_on=enrolled or dt.date(2025, 9, 8),
    )


@pytest.mark.parametrize(
    ("pattern", "codes"),
    [
        ("", []),
        ("N", []),
        ("NN", ["missed_in_a_row"]),
        ("YYYYNN", ["missed_in_a_row"]),  # 4 of 6 = 67%: not under 60%
        ("YYYNNN", ["missed_in_a_row", "low_attendance"]),  # 3 of 6 = 50%
        ("NNNYYY", ["low_attendance"]),  # 3 of 6, attended the latest
        ("YNYNYNY", ["low_attendance"]),  # the last six are NYNYNY: 3 of 6
        ("NYNYNY", ["low_attendance"]),
        ("YYYNYN", []),  # 4 of 6
        ("NNNNN", ["missed_in_a_row"]),  # only five marks: the share rule waits for six
    ],
)
def test_session_rules(pattern, codes):
    results = evaluate_flags(DEFAULT, child(pattern), TODAY)
    assert [r.code for r in results] == codes


@pytest.mark.parametrize(
    ("last_contact", "enrolled", "flagged"),
    [
        (dt.date(2026, 3, 7), None, False),  # 13 days
        (dt.date(2026, 3, 6), None, True),  # 14 days
        (None, dt.date(2026, 3, 10), False),  # enrolled 10 days ago, no contact yet
        (None, dt.date(2026, 3, 1), True),
    ],
)
def test_no_interaction_rule(last_contact, enrolled, flagged):
    results = evaluate_flags(DEFAULT, child(last_contact=last_contact, enrolled=enrolled), TODAY)
    assert ("no_contact" in [r.code for r in results]) is flagged


@pytest.mark.parametrize(
    ("review", "flagged"),
    [(None, False), (TODAY, False), (TODAY - dt.timedelta(days=1), True)],
)
def test_review_overdue_rule(review, flagged):
    results = evaluate_flags(DEFAULT, child(review=review), TODAY)
    assert ("review_overdue" in [r.code for r in results]) is flagged


def test_worked_example_from_the_docs():
    # docs/engagement.md: Amara's last six marks, last contact 16 days ago, review due
    # yesterday.
    amara = ChildEngagement(
        marks=marks("YYNYNN"),
        last_interaction_on=dt.date(2026, 3, 4),
        review_due_on=dt.date(2026, 3, 19),
        enrolled_on=dt.date(2025, 9, 8),
    )
    results = evaluate_flags(DEFAULT, amara, TODAY)
    assert [(r.code, r.level) for r in results] == [
        ("missed_in_a_row", "amber"),
        ("low_attendance", "red"),
        ("no_contact", "amber"),
        ("review_overdue", "amber"),
    ]
    assert results[1].reason == "attended 3 of the last 6 allocated sessions"
    assert status_of(r.level for r in results) == "red"
    # Monday 23 March: Amara attends and her Link Worker sees her the same day.
    monday = dt.date(2026, 3, 23)
    amara = ChildEngagement(
        marks=(*amara.marks, Mark(date=monday, attended=True)),
        last_interaction_on=monday,
        review_due_on=amara.review_due_on,
        enrolled_on=amara.enrolled_on,
    )
    results = evaluate_flags(DEFAULT, amara, monday)
    assert [(r.code, r.reason) for r in results] == [
        ("low_attendance", "attended 3 of the last 6 allocated sessions"),
        ("review_overdue", "plan review was due on 19 Mar 2026"),
    ]


@pytest.mark.parametrize(
    ("levels", "status"),
    [([], "green"), (["amber"], "amber"), (["amber", "red"], "red"), (["red"], "red")],
)
def test_status(levels, status):
    assert status_of(levels) == status


def test_default_rules_round_trip_through_storage():
    assert rules_from_document(rules_as_document(DEFAULT)) == DEFAULT
    assert DEFAULT.rules[1].share == Decimal("0.6")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("rules: 3\n", "engagement.yaml:1: rules: a list of rules is required"),
        (
            "rules:\n  - code: a\n    kind: nope\n    level: amber\n",
            "engagement.yaml:3: kind: unknown kind (nope)",
        ),
        (
            "rules:\n  - code: a\n    kind: consecutive_missed\n    sessions: 0\n    level: red\n",
            "engagement.yaml:4: sessions: must be a whole number of at least 1 (0)",
        ),
        (
            "rules:\n  - code: a\n    kind: attendance_below\n    share: 1.5\n    of_last: 6\n"
            "    level: red\n",
            "engagement.yaml:4: share: must be a number above 0 and at most 1 (1.5)",
        ),
        (
            "rules:\n  - code: a\n    kind: review_overdue\n    level: purple\n",
            "engagement.yaml:4: level: must be amber or red (purple)",
        ),
        (
            "rules:\n  - code: a\n    kind: review_overdue\n    level: red\n"
            "  - code: a\n    kind: review_overdue\n    level: red\n",
            "engagement.yaml:5: code: given twice (a)",
        ),
        ("rules: [\n", "engagement.yaml:2: invalid YAML"),
    ],
)
def test_bad_documents_are_refused_with_the_line(source, message):
    with pytest.raises(DocumentError) as caught:
        parse_rules(source)
    assert any(e.startswith(message) for e in caught.value.errors), caught.value.errors
