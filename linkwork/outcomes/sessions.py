"""Session attendance over an enrolment: attended ÷ sessions, overall and lately.

Pure: register marks (date, attended) in, counts out. A session counts when its date is
in the enrolment (from `enrolled_on` to the end date or today, whichever is first); the
last four weeks are the 28 days ending on that date.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

LAST_WEEKS = dt.timedelta(days=28)


@dataclass(frozen=True)
class Attendance:
    attended: int
    sessions: int

    @property
    def percent(self) -> Decimal | None:
        """attended ÷ sessions as a whole percentage, half up; None without sessions."""
        if not self.sessions:
            return None
        return (Decimal(100 * self.attended) / self.sessions).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )

    def __str__(self) -> str:
        if not self.sessions:
            return "No sessions"
        return f"{self.attended} of {self.sessions} ({self.percent}%)"


@dataclass(frozen=True)
class SessionAttendance:
    enrolment: Attendance
    last_four_weeks: Attendance
    until: dt.date


def session_attendance(
    marks: Iterable[tuple[dt.date, bool]],
    *,
    enrolled_on: dt.date,
    ended_on: dt.date | None,
    today: dt.date,
) -> SessionAttendance:
    """Sessions attended ÷ sessions marked, over the enrolment and its last four weeks."""
    until = min(today, ended_on) if ended_on else today
    recent_from = until - LAST_WEEKS + dt.timedelta(days=1)
    total = attended = recent = recent_attended = 0
    for day, present in marks:
        if not enrolled_on <= day <= until:
            continue
        total += 1
        attended += bool(present)
        if day >= recent_from:
            recent += 1
            recent_attended += bool(present)
    return SessionAttendance(
        Attendance(attended, total), Attendance(recent_attended, recent), until
    )
