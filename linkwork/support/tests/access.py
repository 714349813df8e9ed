"""Who may open the support app's pages (read by the persona walk)."""

import datetime as dt

from django.utils import timezone

from linkwork.accounts.models import Role
from linkwork.support.models import FollowUp, Goal, SupportPlan

STAFF = {Role.LINK_WORKER, Role.MANAGER, Role.ADMIN}
REGISTER = {Role.PARTNER, Role.MANAGER, Role.ADMIN}


def build(world):
    world.plan = SupportPlan.objects.create(
        pupil=world.pupil,
        started_on=world.today - dt.timedelta(days=30),
        next_review_due=world.today + dt.timedelta(days=30),
    )
    world.goal = Goal.objects.create(plan=world.plan, area="wellbeing", text="Make a friend")
    world.follow_up = FollowUp.objects.create(
        pupil=world.pupil,
        reason="Check in",
        opened_at=timezone.now(),
        assigned_to=world.users[Role.LINK_WORKER],
    )


def child(world):
    return {"pk": world.pupil.pk}


def register(world):
    return {"service_pk": world.service.pk, "date": world.today.isoformat()}


ACCESS = {
    "support:caseload": {"allowed": STAFF, "kwargs": None},
    "support:child": {"allowed": STAFF, "kwargs": child},
    "support:interaction_new": {"allowed": STAFF, "kwargs": child},
    "support:follow_up_new": {"allowed": STAFF, "kwargs": child},
    "support:plan_edit": {"allowed": STAFF, "kwargs": child},
    "support:plan_history": {"allowed": STAFF, "kwargs": child},
    "support:goal_add": {"allowed": STAFF, "kwargs": child},
    "support:review_record": {"allowed": STAFF, "kwargs": child},
    "support:allocate": {"allowed": STAFF, "kwargs": child},
    "support:goal_update": {"allowed": STAFF, "kwargs": lambda w: {"pk": w.goal.pk}},
    "support:allocation_end": {"allowed": STAFF, "kwargs": lambda w: {"pk": w.allocation.pk}},
    "support:allocation_cancel": {
        "allowed": STAFF,
        "kwargs": lambda w: {"pk": w.allocation.pk},
    },
    "support:follow_ups": {"allowed": STAFF, "kwargs": None},
    "support:follow_up_complete": {"allowed": STAFF, "kwargs": lambda w: {"pk": w.follow_up.pk}},
    "support:follow_up_assign": {"allowed": STAFF, "kwargs": lambda w: {"pk": w.follow_up.pk}},
    "support:catalogue": {"allowed": STAFF | {Role.PARTNER}, "kwargs": None},
    "support:service_new": {"allowed": {Role.MANAGER, Role.ADMIN}, "kwargs": None},
    "support:partner_new": {"allowed": {Role.MANAGER, Role.ADMIN}, "kwargs": None},
    "support:service_edit": {"allowed": REGISTER, "kwargs": lambda w: {"pk": w.service.pk}},
    "support:sessions": {"allowed": REGISTER, "kwargs": None},
    "support:register_upload": {"allowed": REGISTER, "kwargs": None},
    "support:register": {"allowed": REGISTER, "kwargs": register},
    "support:register_cancel": {"allowed": REGISTER, "kwargs": register},
    "support:register_sheet": {"allowed": REGISTER, "kwargs": register},
    "support:register_sheets": {
        "allowed": REGISTER,
        "kwargs": lambda w: {"service_pk": w.service.pk},
    },
}
