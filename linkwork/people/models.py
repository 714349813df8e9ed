from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

# A foreign key that is the first column of one of its table's keys or indexes is
# served by that index (db_index=False): a second index on it would only slow writes.


class YearGroup(models.TextChoices):
    N1 = "N1"
    N2 = "N2"
    R = "R", "Reception"
    Y1 = "1", "Year 1"
    Y2 = "2", "Year 2"
    Y3 = "3", "Year 3"
    Y4 = "4", "Year 4"
    Y5 = "5", "Year 5"
    Y6 = "6", "Year 6"
    Y7 = "7", "Year 7"
    Y8 = "8", "Year 8"
    Y9 = "9", "Year 9"
    Y10 = "10", "Year 10"
    Y11 = "11", "Year 11"
    Y12 = "12", "Year 12"
    Y13 = "13", "Year 13"


class Sex(models.TextChoices):
    F = "F", "Female"
    M = "M", "Male"
    X = "X", "Other"


class SEN(models.TextChoices):
    NONE = "N", "None"
    SUPPORT = "K", "SEN support"
    EHC = "E", "EHC plan"


class StatutoryStatus(models.TextChoices):
    NONE = "none", "None"
    CIN = "CIN", "Child in need"
    CP = "CP", "Child protection plan"
    LAC = "LAC", "Looked-after child"


class PupilQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The pupils this user may see at all; what of them they may see is the view's job.

        Managers and administrators see everyone; Link Workers and school staff the
        pupils of their schools; partner staff only children with an allocation to one
        of their services active today and a partner-sharing consent in force; funders
        nobody.
        """
        from linkwork.accounts.models import Role

        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.role in (Role.MANAGER, Role.ADMIN):
            return self
        if user.role in (Role.LINK_WORKER, Role.SCHOOL_STAFF):
            return self.filter(school__in=user.schools.all())
        if user.role == Role.PARTNER and user.partner_id:
            from linkwork.support.models import Allocation

            today = timezone.localdate()
            allocated = Allocation.objects.active_on(today).filter(
                service__partner_id=user.partner_id
            )
            sharing = Consent.objects.in_force(today).filter(purpose=Purpose.PARTNER_SHARING)
            return self.filter(pk__in=allocated.values("pupil_id")).filter(
                pk__in=sharing.values("pupil_id")
            )
        return self.none()


class Pupil(models.Model):
    """A row of school data, screened or not; a child once shortlisted or enrolled."""

    upn = models.CharField("UPN", max_length=13, unique=True)
    school = models.ForeignKey(
        "schools.School", on_delete=models.PROTECT, related_name="pupils", db_index=False
    )
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField(null=True, blank=True)
    year_group = models.CharField(max_length=2, choices=YearGroup.choices)
    sex = models.CharField(max_length=1, choices=Sex.choices, blank=True)
    fsm = models.BooleanField("free school meals", null=True, blank=True)
    sen = models.CharField("SEN", max_length=1, choices=SEN.choices, blank=True)
    eal = models.BooleanField("English as an additional language", null=True, blank=True)
    statutory_status = models.CharField(
        max_length=4, choices=StatutoryStatus.choices, default=StatutoryStatus.NONE
    )
    # The day the pupil last came in a school's data (a package or an upload): the
    # retention schedule counts from it when nothing newer is known about the pupil.
    received_on = models.DateField(
        default=timezone.localdate,
        help_text="The day this pupil last came in a school's data.",
    )

    objects = PupilQuerySet.as_manager()

    class Meta:
        ordering = ["family_name", "given_name", "upn"]
        indexes = [
            models.Index(fields=["school", "family_name", "given_name"]),
            models.Index(fields=["family_name", "given_name"]),
        ]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class FamilyContact(models.Model):
    """A parent or carer the Link Worker works with."""

    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="family_contacts")
    name = models.CharField(max_length=200)
    relationship = models.CharField(max_length=50)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    has_parental_responsibility = models.BooleanField(default=True)
    preferred_language = models.CharField(max_length=50, blank=True)

    class Meta:
        ordering = ["pupil", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.relationship})"


class SchoolAttendance(models.Model):
    """Sessions (half-days) possible and present over a period, from the school."""

    pupil = models.ForeignKey(
        Pupil, on_delete=models.CASCADE, related_name="school_attendance", db_index=False
    )
    period_start = models.DateField()
    period_end = models.DateField()
    possible_sessions = models.PositiveIntegerField()
    present_sessions = models.PositiveIntegerField()

    class Meta:
        ordering = ["pupil", "period_start"]
        constraints = [
            models.UniqueConstraint(fields=["pupil", "period_start"], name="school_attendance_key"),
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")),
                name="school_attendance_dates_in_order",
            ),
            models.CheckConstraint(
                condition=Q(present_sessions__lte=F("possible_sessions")),
                name="school_attendance_present_within_possible",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pupil.upn} {self.period_start}–{self.period_end}"


class Subject(models.TextChoices):
    READING = "reading"
    WRITING = "writing"
    MATHS = "maths"
    ENGLISH = "english"


class Attainment(models.Model):
    """An attainment record on the school's own scale, with the expected value."""

    pupil = models.ForeignKey(
        Pupil, on_delete=models.CASCADE, related_name="attainment", db_index=False
    )
    assessed_on = models.DateField()
    subject = models.CharField(max_length=10, choices=Subject.choices)
    value = models.DecimalField(max_digits=9, decimal_places=3)
    expected = models.DecimalField(max_digits=9, decimal_places=3)

    class Meta:
        ordering = ["pupil", "subject", "assessed_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["pupil", "subject", "assessed_on"], name="attainment_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pupil.upn} {self.subject} {self.assessed_on}"


class Purpose(models.TextChoices):
    SUPPORT = "support", "Support from the programme"
    PARTNER_SHARING = "partner_sharing", "Sharing with named partners"
    EVIDENCE = "evidence", "Evidence for outcome payments"
    RESEARCH = "research", "Research"


class GivenBy(models.TextChoices):
    PARENT = "parent", "Parent"
    CARER = "carer", "Carer"
    CHILD = "child", "Child (assent)"


class ConsentQuerySet(models.QuerySet):
    def in_force(self, on):
        """Consents given on or before `on` and not withdrawn by then."""
        return self.filter(given_on__lte=on).filter(
            Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gt=on)
        )


class Consent(models.Model):
    """Consent for one purpose, given on a date, withdrawable from a later date."""

    pupil = models.ForeignKey(
        Pupil, on_delete=models.CASCADE, related_name="consents", db_index=False
    )
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    given_by = models.CharField(max_length=10, choices=GivenBy.choices)
    given_on = models.DateField()
    withdrawn_on = models.DateField(null=True, blank=True)
    child_assent = models.BooleanField(
        "the child's own assent",
        null=True,
        blank=True,
        help_text="Whether the child agreed too; blank when not asked or not recorded.",
    )

    objects = ConsentQuerySet.as_manager()

    class Meta:
        ordering = ["pupil", "purpose", "given_on"]
        constraints = [
            models.UniqueConstraint(fields=["pupil", "purpose", "given_on"], name="consent_key"),
            models.CheckConstraint(
                condition=Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gte=F("given_on")),
                name="consent_withdrawn_after_given",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} ({self.given_on})"

    def in_force_on(self, on) -> bool:
        return self.given_on <= on and (self.withdrawn_on is None or self.withdrawn_on > on)


class Cohort(models.Model):
    """An intake of enrolled children, usually named for the school year they start."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name or self.code


class Enrolment(models.Model):
    """A child's place in a cohort, with their Link Worker, until it ends."""

    pupil = models.ForeignKey(
        Pupil, on_delete=models.CASCADE, related_name="enrolments", db_index=False
    )
    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="enrolments")
    enrolled_on = models.DateField()
    link_worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="caseload",
    )
    ended_on = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["pupil", "enrolled_on"]
        constraints = [
            models.UniqueConstraint(fields=["pupil", "cohort"], name="enrolment_key"),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=F("enrolled_on")),
                name="enrolment_dates_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pupil.upn} in {self.cohort.code}"

    def active_on(self, on) -> bool:
        return self.enrolled_on <= on and (self.ended_on is None or self.ended_on >= on)


class ErasureGrounds(models.TextChoices):
    REQUEST = "request", "Erasure request"
    RETENTION = "retention", "Retention schedule"


class Erasure(models.Model):
    """A child whose data was erased: what went, on what grounds, and what was kept.

    The UPN stays, as a suppression record: a package that holds the child again is
    refused, and the child's submitted claim lines (payment evidence, kept by UPN until
    `evidence_kept_until`) are not reversed for want of the erased data.
    """

    upn = models.CharField("UPN", max_length=13, unique=True)
    pupil_id = models.BigIntegerField(help_text="The erased pupil's id, as the audit trail has it.")
    erased_at = models.DateTimeField()
    erased_by = models.CharField(max_length=254, help_text="Who erased, kept as text.")
    grounds = models.CharField(max_length=10, choices=ErasureGrounds.choices)
    reference = models.CharField(
        max_length=100, help_text="The request's reference, or the retention rule applied."
    )
    rows = models.JSONField(default=dict, blank=True, help_text="Rows erased, per table.")
    evidence_kept_until = models.DateField(
        null=True, blank=True, help_text="The end of the audit period of the payment evidence kept."
    )

    class Meta:
        ordering = ["-erased_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.upn} erased {self.erased_at:%Y-%m-%d}"

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())
