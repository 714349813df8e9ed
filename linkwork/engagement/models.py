from django.conf import settings
from django.db import models
from django.db.models import F, Q


class EngagementRules(models.Model):
    """A version of the zone's engagement rules document (`engagement.yaml`)."""

    version = models.PositiveIntegerField(unique=True)
    document = models.JSONField()
    source = models.TextField(help_text="The YAML document as saved.")
    saved_at = models.DateTimeField()
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["-version"]
        verbose_name_plural = "engagement rules"

    def __str__(self) -> str:
        return f"Engagement rules v{self.version}"


class FlagLevel(models.TextChoices):
    AMBER = "amber", "Amber"
    RED = "red", "Red"


class Flag(models.Model):
    """A rule that held for a child: raised when it first held, cleared when it stopped."""

    pupil = models.ForeignKey("people.Pupil", on_delete=models.CASCADE, related_name="flags")
    rule_code = models.CharField(max_length=60)
    level = models.CharField(max_length=10, choices=FlagLevel.choices)
    reason = models.CharField(max_length=300)
    raised_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    rules_version = models.PositiveIntegerField(null=True, blank=True)
    follow_up = models.ForeignKey(
        "support.FollowUp", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["pupil", "-raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["pupil", "rule_code"],
                condition=Q(cleared_at__isnull=True),
                name="flag_one_open_per_rule",
            ),
            models.CheckConstraint(
                condition=Q(cleared_at__isnull=True) | Q(cleared_at__gte=F("raised_at")),
                name="flag_cleared_after_raised",
            ),
        ]
        indexes = [models.Index(fields=["pupil", "cleared_at"])]

    def __str__(self) -> str:
        return f"{self.rule_code} ({self.level}) for {self.pupil_id}"

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None
