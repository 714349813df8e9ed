"""Session attendance over an enrolment and its last four weeks."""

import datetime as dt

from linkwork.outcomes.sessions import Attendance, session_attendance

D = dt.date.fromisoformat


def test_enrolment_and_last_four_weeks():
    marks = [
        (D("2025-08-31"), True),  # before enrolment: not counted
        (D("2025-09-01"), True),
        (D("2025-09-08"), False),
        (D("2025-10-03"), True),  # 28 days ending 30 Oct start on 3 Oct: counted as recent
        (D("2025-10-02"), False),  # a day earlier: not recent
        (D("2025-10-30"), False),
        (D("2025-10-31"), True),  # after today: not counted
    ]
    out = session_attendance(
        marks, enrolled_on=D("2025-09-01"), ended_on=None, today=D("2025-10-30")
    )
    assert out.enrolment == Attendance(2, 5) and str(out.enrolment) == "2 of 5 (40%)"
    assert out.last_four_weeks == Attendance(1, 2) and str(out.last_four_weeks) == "1 of 2 (50%)"


def test_ended_enrolment_counts_up_to_its_end():
    marks = [(D("2025-09-01"), True), (D("2025-09-10"), True), (D("2025-09-20"), True)]
    out = session_attendance(
        marks, enrolled_on=D("2025-09-01"), ended_on=D("2025-09-10"), today=D("2025-12-01")
    )
    assert out.until == D("2025-09-10") and out.enrolment == Attendance(2, 2)
    assert out.last_four_weeks == Attendance(2, 2)


def test_percent_rounds_half_up_and_no_sessions_reads_as_words():
    assert Attendance(1, 8).percent == 13  # 12.5 -> 13
    assert Attendance(2, 3).percent == 67
    assert str(Attendance(0, 0)) == "No sessions" and Attendance(0, 0).percent is None
