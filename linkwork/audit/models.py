from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """Who did or looked at what, when, and what changed. Append-only.

    Database triggers refuse UPDATE and DELETE on this table, with one exception: when a
    child's data is erased, the summary and changes of the entries about the child are
    cleared and `redacted_at` set, once; who did what and when stay as they were.
    """

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(
        max_length=254, help_text="Who acted, kept as text so the entry outlives the account."
    )
    action = models.CharField(max_length=60, db_index=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=60, blank=True)
    pupil = models.ForeignKey(
        "people.Pupil",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    summary = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    redacted_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the summary and changes were cleared because the child was erased.",
    )

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["pupil", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"
