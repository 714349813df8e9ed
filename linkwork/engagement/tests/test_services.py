"""Engagement services: rule versions, flag refresh, the daily digest."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.urls import reverse

from linkwork.core.documents import DocumentError
from linkwork.engagement.models import EngagementRules, Flag
from linkwork.engagement.queries import current_rules, default_rules_source
from linkwork.engagement.services import refresh_all_flags, refresh_flags, save_rules
from linkwork.engagement.tasks import send_daily_digests_task
from linkwork.support.models import FollowUp

TODAY = dt.date(2026, 3, 20)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 20, 7, tzinfo=dt.UTC))


def test_saving_rules_keeps_versions(manager):
    assert current_rules()[0] is None
    save_rules(actor=manager, source=default_rules_source())
    changed = default_rules_source().replace("days: 14", "days: 10")
    save_rules(actor=manager, source=changed)
    version, rules, source = current_rules()
    assert version == 2 and source == changed
    assert rules.rules[2].days == 10
    assert EngagementRules.objects.count() == 2


def test_bad_rules_are_refused_and_nothing_saved(manager):
    with pytest.raises(DocumentError):
        save_rules(actor=manager, source="rules:\n  - code: a\n    kind: nope\n    level: red\n")
    assert not EngagementRules.objects.exists()


def test_rules_page_shows_located_errors(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("engagement:rules"),
        {"source": "rules:\n  - code: a\n    kind: review_overdue\n    level: purple\n"},
    )
    assert "engagement.yaml:4: level: must be amber or red (purple)" in response.content.decode()
    response = client.post(reverse("engagement:rules"), {"source": default_rules_source()})
    assert response.status_code == 302


def test_one_open_flag_per_child_and_rule(make_pupil, enrol):
    pupil = make_pupil()
    enrol(pupil, on=dt.date(2026, 1, 5))
    refresh_flags(actor=None, pupils=[pupil])
    refresh_flags(actor=None, pupils=[pupil])
    assert Flag.objects.filter(pupil=pupil, rule_code="no_contact").count() == 1
    assert FollowUp.objects.count() == 1


def test_flags_clear_when_enrolment_ends(make_pupil, enrol):
    pupil = make_pupil()
    enrolment = enrol(pupil, on=dt.date(2026, 1, 5))
    refresh_all_flags(actor=None)
    enrolment.ended_on = dt.date(2026, 3, 1)
    enrolment.save()
    refresh_all_flags(actor=None)
    assert Flag.objects.get().cleared_at is not None


def test_a_cleared_flag_closes_its_follow_up_unless_done(make_pupil, enrol, link_worker):
    from linkwork.engagement.services import CLOSED_WITH_FLAG
    from linkwork.support.services import record_interaction

    first, second = make_pupil(), make_pupil()
    for pupil in (first, second):
        enrol(pupil, on=dt.date(2026, 1, 5))
    refresh_flags(actor=None, pupils=[first, second])
    done = FollowUp.objects.get(pupil=second)
    done.completed_at, done.outcome = done.opened_at, "Rang the family"
    done.save()
    for pupil in (first, second):  # the contact the no-contact rule asks for
        record_interaction(actor=link_worker, pupil=pupil, occurred_on=TODAY, kind="one_to_one")
    assert not Flag.objects.filter(cleared_at__isnull=True).exists()
    closed = FollowUp.objects.get(pupil=first)
    assert closed.completed_at is not None and closed.outcome == CLOSED_WITH_FLAG
    assert FollowUp.objects.get(pupil=second).outcome == "Rang the family"


def test_digest_email_per_link_worker(
    make_pupil, enrol, link_worker, other_link_worker, mailoutbox
):
    pupil = make_pupil(given_name="Amara", family_name="Example")
    enrol(pupil, on=dt.date(2026, 1, 5))
    call_command("digest")
    assert len(mailoutbox) == 1  # the other Link Worker has nothing to report
    mail = mailoutbox[0]
    assert mail.to == [link_worker.email]
    assert "1 open flags, 1 follow-ups due" in mail.subject
    assert (
        "Amara Example: Amber, no Link Worker interaction since enrolment 74 days ago" in mail.body
    )


def test_digest_task(make_pupil, enrol, mailoutbox, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    enrol(make_pupil(), on=dt.date(2026, 1, 5))
    result = send_daily_digests_task.enqueue()
    assert result.return_value == 1
    assert len(mailoutbox) == 1
