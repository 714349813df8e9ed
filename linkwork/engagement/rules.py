"""Engagement rules: which children are flagged, at what level, and why.

Pure: no ORM, clock or settings. `parse_rules` reads the `engagement.yaml` document into
a `RuleSet`; `evaluate_flags` applies it to one child's `ChildEngagement` on a date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from linkwork.core.documents import DocumentError, key_line, read_yaml

AMBER = "amber"
RED = "red"
GREEN = "green"
LEVELS = (AMBER, RED)
_SEVERITY = {GREEN: 0, AMBER: 1, RED: 2}

CONSECUTIVE_MISSED = "consecutive_missed"
ATTENDANCE_BELOW = "attendance_below"
NO_INTERACTION = "no_interaction"
REVIEW_OVERDUE = "review_overdue"

# The parameters each kind needs (all positive integers except `share`).
KIND_PARAMETERS = {
    CONSECUTIVE_MISSED: ("sessions",),
    ATTENDANCE_BELOW: ("share", "of_last"),
    NO_INTERACTION: ("days",),
    REVIEW_OVERDUE: (),
}


@dataclass(frozen=True)
class Rule:
    code: str
    kind: str
    level: str
    sessions: int | None = None
    share: Decimal | None = None
    of_last: int | None = None
    days: int | None = None


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]

    @property
    def sessions_needed(self) -> int:
        """How many of a child's latest marks any rule looks at."""
        return max(
            [r.sessions or 0 for r in self.rules] + [r.of_last or 0 for r in self.rules] + [1]
        )


@dataclass(frozen=True)
class Mark:
    """A child's mark on one allocated, not cancelled, session."""

    date: dt.date
    attended: bool


@dataclass(frozen=True)
class ChildEngagement:
    """What the rules see of one child.

    `marks` are the child's marks on allocated sessions in date order (oldest first),
    cancelled sessions left out; `enrolled_on` stands in for the last interaction when
    there has been none yet.
    """

    marks: tuple[Mark, ...] = ()
    last_interaction_on: dt.date | None = None
    review_due_on: dt.date | None = None
    enrolled_on: dt.date | None = None


@dataclass(frozen=True)
class FlagResult:
    code: str
    level: str
    reason: str


def evaluate_flags(rules: RuleSet, child: ChildEngagement, today: dt.date) -> list[FlagResult]:
    """The rules that hold for this child today, in the order the document lists them."""
    results = []
    for rule in rules.rules:
        reason = _CHECKS[rule.kind](rule, child, today)
        if reason is not None:
            results.append(FlagResult(code=rule.code, level=rule.level, reason=reason))
    return results


def status_of(levels) -> str:
    """Red if any flag is red, amber if any is amber, green when there are none."""
    worst = GREEN
    for level in levels:
        if _SEVERITY.get(level, 0) > _SEVERITY[worst]:
            worst = level
    return worst


def severity(level: str) -> int:
    return _SEVERITY.get(level, 0)


def _consecutive_missed(rule: Rule, child: ChildEngagement, today: dt.date) -> str | None:
    """Flag when the latest `sessions` marks are all missed."""
    missed = 0
    for mark in reversed(child.marks):
        if mark.attended:
            break
        missed += 1
    if missed >= rule.sessions:
        return f"missed the last {missed} allocated sessions in a row"
    return None


def _attendance_below(rule: Rule, child: ChildEngagement, today: dt.date) -> str | None:
    """Flag when, over the last `of_last` marks (and only once there are that many),
    the share attended is under `share`."""
    if len(child.marks) < rule.of_last:
        return None
    last = child.marks[-rule.of_last :]
    attended = sum(1 for mark in last if mark.attended)
    if Fraction(attended, rule.of_last) < Fraction(rule.share):
        return f"attended {attended} of the last {rule.of_last} allocated sessions"
    return None


def _no_interaction(rule: Rule, child: ChildEngagement, today: dt.date) -> str | None:
    """Flag when `days` or more have passed since the last interaction (or enrolment)."""
    since = child.last_interaction_on or child.enrolled_on
    if since is None:
        return None
    days = (today - since).days
    if days >= rule.days:
        if child.last_interaction_on is None:
            return f"no Link Worker interaction since enrolment {days} days ago"
        return f"no Link Worker interaction for {days} days"
    return None


def _review_overdue(rule: Rule, child: ChildEngagement, today: dt.date) -> str | None:
    """Flag when the support plan's review due date is before today."""
    if child.review_due_on is not None and child.review_due_on < today:
        due = child.review_due_on
        return f"plan review was due on {due.day} {due:%b %Y}"
    return None


_CHECKS = {
    CONSECUTIVE_MISSED: _consecutive_missed,
    ATTENDANCE_BELOW: _attendance_below,
    NO_INTERACTION: _no_interaction,
    REVIEW_OVERDUE: _review_overdue,
}


def parse_rules(source: str | bytes, *, filename: str = "engagement.yaml") -> RuleSet:
    """Read an engagement rules document; every problem is reported with its line."""
    data = read_yaml(source, filename=filename)
    text = source.decode("utf-8-sig") if isinstance(source, bytes) else source
    errors: list[str] = []

    def error(key: str, message: str, after: int = 0) -> None:
        errors.append(f"{filename}:{key_line(text, key, after_line=after)}: {key}: {message}")

    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise DocumentError([f"{filename}:1: rules: a list of rules is required"])
    unknown = sorted(set(data) - {"rules", "version"})
    for key in unknown:
        error(key, "unknown key")
    rules: list[Rule] = []
    seen: set[str] = set()
    after = key_line(text, "rules")
    for number, item in enumerate(data["rules"], start=1):
        if not isinstance(item, dict):
            errors.append(f"{filename}:{after}: rules: rule {number} is not a mapping")
            continue
        code = item.get("code")
        start = key_line(text, "code", after_line=after + 1) if "code" in item else after
        after = max(after, start)
        if not isinstance(code, str) or not code.strip():
            error("code", f"rule {number} needs a code", after)
            continue
        if code in seen:
            error("code", f"given twice ({code})", after)
        seen.add(code)
        kind = item.get("kind")
        if kind not in KIND_PARAMETERS:
            error("kind", f"unknown kind ({kind}); one of {', '.join(KIND_PARAMETERS)}", after)
            continue
        level = item.get("level")
        if level not in LEVELS:
            error("level", f"must be amber or red ({level})", after)
        allowed = {"code", "kind", "level", *KIND_PARAMETERS[kind]}
        for key in sorted(set(item) - allowed):
            error(key, f"not a parameter of {kind}", after)
        values: dict = {}
        for name in KIND_PARAMETERS[kind]:
            value = item.get(name)
            if name == "share":
                try:
                    share = Decimal(str(value))
                except (InvalidOperation, ValueError):
                    share = None
                if isinstance(value, bool) or share is None or not (0 < share <= 1):
                    error(name, f"must be a number above 0 and at most 1 ({value})", after)
                values[name] = share
            elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
                error(name, f"must be a whole number of at least 1 ({value})", after)
            else:
                values[name] = value
        rules.append(Rule(code=code, kind=kind, level=level, **values))
    if errors:
        raise DocumentError(errors)
    return RuleSet(rules=tuple(rules))


def rules_as_document(rules: RuleSet) -> dict:
    """The rule set as plain JSON-able data (stored beside the source)."""
    out = []
    for rule in rules.rules:
        row = {"code": rule.code, "kind": rule.kind, "level": rule.level}
        for name in KIND_PARAMETERS[rule.kind]:
            value = getattr(rule, name)
            row[name] = str(value) if isinstance(value, Decimal) else value
        out.append(row)
    return {"rules": out}


def rules_from_document(document: dict) -> RuleSet:
    """Rebuild a rule set stored with `rules_as_document`."""
    rules = []
    for row in document["rules"]:
        values = dict(row)
        if "share" in values:
            values["share"] = Decimal(values["share"])
        rules.append(Rule(**values))
    return RuleSet(rules=tuple(rules))
