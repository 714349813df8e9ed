from django.db import models
from django.db.models import Q

# A foreign key that is the first column of one of its table's keys or indexes is
# served by that index (db_index=False): a second index on it would only slow writes.


class Respondent(models.TextChoices):
    SELF = "self", "Self"
    PARENT = "parent", "Parent"
    TEACHER = "teacher", "Teacher"


class Instrument(models.Model):
    """A questionnaire's definition (items, scales, ranges, thresholds), stored as data.

    Licensed instruments are stored by item code only, never item text.
    """

    code = models.CharField(max_length=40)
    version = models.PositiveIntegerField(default=1)
    name = models.CharField(max_length=200)
    definition = models.JSONField()
    source = models.TextField(blank=True, help_text="The YAML document as loaded.")
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="instrument_code_version"),
        ]

    def __str__(self) -> str:
        return f"{self.code} v{self.version}"


class Administration(models.Model):
    """One sitting of an instrument by one respondent about one pupil."""

    pupil = models.ForeignKey(
        "people.Pupil", on_delete=models.CASCADE, related_name="administrations", db_index=False
    )
    instrument_code = models.CharField(max_length=40)
    administered_on = models.DateField()
    respondent = models.CharField(max_length=10, choices=Respondent.choices)

    class Meta:
        ordering = ["pupil", "administered_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["pupil", "instrument_code", "administered_on", "respondent"],
                name="administration_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_code} {self.respondent} {self.administered_on}"


class Score(models.Model):
    """A scale score from one administration, scored from items or entered directly."""

    administration = models.ForeignKey(
        Administration, on_delete=models.CASCADE, related_name="scores", db_index=False
    )
    scale = models.CharField(max_length=40)
    score = models.DecimalField(max_digits=9, decimal_places=3)

    class Meta:
        ordering = ["administration", "scale"]
        constraints = [
            models.UniqueConstraint(fields=["administration", "scale"], name="score_key"),
        ]

    def __str__(self) -> str:
        return f"{self.scale} = {self.score}"


class Response(models.Model):
    """One item's answer in an administration (item code only)."""

    administration = models.ForeignKey(
        Administration, on_delete=models.CASCADE, related_name="responses", db_index=False
    )
    item = models.CharField(max_length=40)
    value = models.IntegerField()

    class Meta:
        ordering = ["administration", "item"]
        constraints = [
            models.UniqueConstraint(fields=["administration", "item"], name="response_key"),
            models.CheckConstraint(condition=Q(value__gte=-1000), name="response_value_sane"),
        ]

    def __str__(self) -> str:
        return f"{self.item} = {self.value}"
