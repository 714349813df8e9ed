from django.db import models


class Phase(models.TextChoices):
    NURSERY = "nursery", "Nursery"
    PRIMARY = "primary", "Primary"
    SECONDARY = "secondary", "Secondary"
    ALL_THROUGH = "all-through", "All-through"
    SPECIAL = "special", "Special"


class Area(models.Model):
    """A borough or local authority the zone works in."""

    name = models.CharField(max_length=200, unique=True)
    la_code = models.CharField(max_length=3, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class School(models.Model):
    """A school or other setting, identified by its 6-digit URN."""

    urn = models.CharField(max_length=6, unique=True)
    name = models.CharField(max_length=200)
    phase = models.CharField(max_length=20, choices=Phase.choices)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="schools")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(urn__regex=r"^[0-9]{6}$"), name="school_urn_six_digits"
            ),
        ]

    def __str__(self) -> str:
        return self.name
