from django.conf import settings
from django.db import models


class ScreeningRules(models.Model):
    """A version of the zone's screening rules document (`screening.yaml`)."""

    version = models.PositiveIntegerField(unique=True)
    document = models.JSONField()
    source = models.TextField(help_text="The YAML document as loaded.")
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        verbose_name_plural = "screening rules"

    def __str__(self) -> str:
        return f"Screening rules v{self.version}"


class ScreeningRound(models.Model):
    """One school screened on one date with one version of the rules.

    Keeps the rules version and the date of the newest data it used, so the round can be
    explained later without recomputing it from live data.
    """

    school = models.ForeignKey(
        "schools.School", on_delete=models.PROTECT, related_name="screening_rounds"
    )
    on = models.DateField("screening date")
    rules = models.ForeignKey(ScreeningRules, on_delete=models.PROTECT, related_name="rounds")
    data_date = models.DateField(null=True, blank=True, help_text="Newest data seen.")
    run_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    run_at = models.DateTimeField()
    pupils_screened = models.PositiveIntegerField(default=0)
    shortlisted = models.PositiveIntegerField(default=0)
    excluded = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-on", "-run_at"]
        indexes = [models.Index(fields=["school", "-on"])]

    def __str__(self) -> str:
        return f"{self.school} screened {self.on}"


class ProfileStatus(models.TextChoices):
    SCREENED = "screened", "Not shortlisted"
    SHORTLISTED = "shortlisted", "Shortlisted, to review"
    EXCLUDED = "excluded", "Excluded (statutory)"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    ADDED = "added", "Added on professional advice"


class RiskProfile(models.Model):
    """One pupil's result in a round: each area's value, threshold and verdict."""

    round = models.ForeignKey(ScreeningRound, on_delete=models.CASCADE, related_name="profiles")
    pupil = models.ForeignKey(
        "people.Pupil", on_delete=models.CASCADE, related_name="risk_profiles"
    )
    risk_areas = models.PositiveSmallIntegerField(default=0)
    priority_areas = models.PositiveSmallIntegerField(default=0)
    rank = models.PositiveIntegerField(
        null=True, blank=True, help_text="Place on the shortlist, from 1."
    )
    excluded_reason = models.CharField(max_length=100, blank=True)
    explanation = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=ProfileStatus.choices)

    class Meta:
        ordering = ["round", "rank", "pupil__upn"]
        constraints = [
            models.UniqueConstraint(fields=["round", "pupil"], name="risk_profile_key"),
        ]

    def __str__(self) -> str:
        return f"{self.pupil_id} in {self.round_id}: {self.risk_areas} areas"


class Decision(models.TextChoices):
    ACCEPT = "accept", "Accept"
    DECLINE = "decline", "Decline"
    ADD = "add", "Add (professional advice)"


class ShortlistDecision(models.Model):
    """A reviewer's decision on one pupil of a round's shortlist, with the reason."""

    round = models.ForeignKey(ScreeningRound, on_delete=models.CASCADE, related_name="decisions")
    pupil = models.ForeignKey(
        "people.Pupil", on_delete=models.CASCADE, related_name="shortlist_decisions"
    )
    decision = models.CharField(max_length=10, choices=Decision.choices)
    reason = models.TextField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["round", "decided_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(reason=""), name="decision_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} {self.pupil_id}"


class UploadStatus(models.TextChoices):
    CHECKING = "checking", "Checking"
    INVALID = "invalid", "Problems found"
    CHECKED = "checked", "Ready to load"
    LOADING = "loading", "Loading"
    LOADED = "loaded", "Loaded"
    FAILED = "failed", "Load failed"


class Upload(models.Model):
    """A school data or survey file a manager uploaded, checked, then loaded."""

    resource = models.CharField(max_length=40, help_text="The package file it stands for.")
    original_name = models.CharField(max_length=255)
    folder = models.CharField(max_length=500, help_text="The one-file package it became.")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=UploadStatus.choices)
    rows = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def progress(self) -> int:
        """How far along, in percent, for the progress bar."""
        return {
            "checking": 25,
            "checked": 50,
            "invalid": 100,
            "loading": 75,
            "loaded": 100,
            "failed": 100,
        }[self.status]

    @property
    def finished(self) -> bool:
        return self.status in (UploadStatus.INVALID, UploadStatus.LOADED, UploadStatus.FAILED)
