from django.conf import settings
from django.db import models
from django.db.models import F, Q

# A foreign key that is the first column of one of its table's keys or indexes is
# served by that index (db_index=False): a second index on it would only slow writes.


class OutcomeArea(models.TextChoices):
    WELLBEING = "wellbeing", "Emotional and mental wellbeing"
    RELATIONSHIPS = "relationships", "Relationships"
    CONFIDENCE = "confidence", "Confidence and aspiration"
    SCHOOL = "school", "Progress at school"


class Partner(models.Model):
    """A delivery partner: a local charity running sessions in schools."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    """A partner's regular session in one school."""

    code = models.CharField(max_length=40, unique=True)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="services")
    name = models.CharField(max_length=200)
    school = models.ForeignKey("schools.School", on_delete=models.PROTECT, related_name="services")
    outcome_areas = models.JSONField(default=list, blank=True)
    weekday = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="0 = Monday … 6 = Sunday"
    )
    starts_at = models.TimeField(null=True, blank=True)
    capacity = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weekday__isnull=True) | Q(weekday__lte=6), name="service_weekday_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def weekday_name(self) -> str:
        names = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
        return names[self.weekday] if self.weekday is not None else ""


class AllocationQuerySet(models.QuerySet):
    def active_on(self, on):
        """Allocations that have started by `on` and not ended before it."""
        return self.filter(start_date__lte=on).filter(
            Q(end_date__isnull=True) | Q(end_date__gte=on)
        )


class Allocation(models.Model):
    """A child placed on a service from a date, until it ends."""

    pupil = models.ForeignKey(
        "people.Pupil", on_delete=models.CASCADE, related_name="allocations", db_index=False
    )
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="allocations", db_index=False
    )
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)

    objects = AllocationQuerySet.as_manager()

    class Meta:
        ordering = ["pupil", "start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["pupil", "service", "start_date"], name="allocation_key"
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="allocation_dates_in_order",
            ),
        ]
        indexes = [models.Index(fields=["service", "start_date"])]

    def __str__(self) -> str:
        return f"{self.pupil.upn} on {self.service.code} from {self.start_date}"

    def active_on(self, on) -> bool:
        return self.start_date <= on and (self.end_date is None or self.end_date >= on)


class Session(models.Model):
    """One meeting of a service on a date; a cancelled session counts for nobody."""

    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="sessions", db_index=False
    )
    date = models.DateField()
    cancelled = models.BooleanField(default=False)
    cancelled_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["service", "date"]
        constraints = [
            models.UniqueConstraint(fields=["service", "date"], name="session_key"),
        ]

    def __str__(self) -> str:
        return f"{self.service.code} {self.date}"


class RegisterEntry(models.Model):
    """One child's mark on a session's register: attended and, if so, engaged."""

    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="register_entries", db_index=False
    )
    session_date = models.DateField()
    pupil = models.ForeignKey(
        "people.Pupil", on_delete=models.CASCADE, related_name="register_entries", db_index=False
    )
    attended = models.BooleanField()
    engaged = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["service", "session_date", "pupil"]
        verbose_name_plural = "register entries"
        constraints = [
            models.UniqueConstraint(
                fields=["service", "session_date", "pupil"], name="register_entry_key"
            ),
            models.CheckConstraint(
                condition=Q(attended=True) | ~Q(engaged=True),
                name="register_engaged_only_when_attended",
            ),
        ]
        indexes = [models.Index(fields=["pupil", "session_date"])]

    def __str__(self) -> str:
        return f"{self.service.code} {self.session_date} {self.pupil.upn}"


class InteractionKind(models.TextChoices):
    ONE_TO_ONE = "one_to_one", "One to one"
    GROUP = "group", "Group"
    FAMILY = "family", "Family"
    SCHOOL = "school", "With school staff"
    OTHER = "other", "Other"


class Interaction(models.Model):
    """A Link Worker's contact with or about a child: when, how long, what about."""

    pupil = models.ForeignKey(
        "people.Pupil", on_delete=models.CASCADE, related_name="interactions", db_index=False
    )
    occurred_on = models.DateField()
    minutes = models.PositiveIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=20, choices=InteractionKind.choices)
    topics = models.JSONField(default=list, blank=True)
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["pupil", "-occurred_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["pupil", "occurred_on", "kind"], name="interaction_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pupil.upn} {self.occurred_on} {self.kind}"


class SupportPlan(models.Model):
    """A child's Individual Support Plan, co-written with the child and family."""

    pupil = models.OneToOneField(
        "people.Pupil", on_delete=models.CASCADE, related_name="support_plan"
    )
    started_on = models.DateField()
    next_review_due = models.DateField(null=True, blank=True)
    informal_engagement = models.TextField(blank=True)
    formal_engagement = models.TextField(blank=True)
    developmental_support = models.TextField(blank=True)
    specialist_support = models.TextField(blank=True)
    needs_and_strengths = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"Support plan for {self.pupil.upn}"


class GoalStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACHIEVED = "achieved", "Achieved"
    DROPPED = "dropped", "Dropped"


class Goal(models.Model):
    """A goal in the child's own words, in one outcome area."""

    plan = models.ForeignKey(SupportPlan, on_delete=models.CASCADE, related_name="goals")
    area = models.CharField(max_length=20, choices=OutcomeArea.choices)
    text = models.TextField()
    target_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=GoalStatus.choices, default=GoalStatus.OPEN)

    class Meta:
        ordering = ["plan", "target_date", "pk"]

    def __str__(self) -> str:
        return self.text[:60]


class FollowUp(models.Model):
    """Something a Link Worker must do for a child, opened by hand or by a flag."""

    pupil = models.ForeignKey("people.Pupil", on_delete=models.CASCADE, related_name="follow_ups")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_ups",
    )
    reason = models.CharField(max_length=300)
    due_on = models.DateField(null=True, blank=True)
    opened_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)

    class Meta:
        ordering = ["completed_at", "due_on", "opened_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(completed_at__isnull=True) | Q(completed_at__gte=F("opened_at")),
                name="follow_up_completed_after_opened",
            ),
        ]

    def __str__(self) -> str:
        return self.reason


class SupportPlanVersion(models.Model):
    """A saved state of a support plan, kept so the plan's history can be read back."""

    plan = models.ForeignKey(
        SupportPlan, on_delete=models.CASCADE, related_name="versions", db_index=False
    )
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    saved_at = models.DateTimeField()
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    summary = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["plan", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="support_plan_version_key"),
        ]

    def __str__(self) -> str:
        return f"{self.plan} v{self.number}"


class GoalNote(models.Model):
    """A dated note of progress towards a goal."""

    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="notes")
    written_on = models.DateField()
    text = models.TextField()
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["goal", "written_on", "pk"]

    def __str__(self) -> str:
        return f"{self.written_on}: {self.text[:40]}"


class PlanReview(models.Model):
    """A termly review of a support plan: when it was due, held, what came of it."""

    plan = models.ForeignKey(SupportPlan, on_delete=models.CASCADE, related_name="reviews")
    due_on = models.DateField(null=True, blank=True)
    held_on = models.DateField()
    outcome = models.TextField()
    next_steps = models.TextField(blank=True)
    next_review_due = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["plan", "-held_on"]

    def __str__(self) -> str:
        return f"Review of {self.plan} on {self.held_on}"
