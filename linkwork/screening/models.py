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
