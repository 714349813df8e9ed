from django.conf import settings
from django.db import models
from django.db.models import Q


class Contract(models.Model):
    """One version of an outcomes contract document (see spec/contracts.md)."""

    code = models.CharField(max_length=40)
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    starts_on = models.DateField()
    ends_on = models.DateField()
    document = models.JSONField()
    source = models.TextField(help_text="The YAML document as loaded.")
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="contract_code_version"),
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="contract_dates_in_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} v{self.version}"


class ClaimStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    PAID = "paid", "Paid"


class Claim(models.Model):
    """What a contract's payers owe for one claim period."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="claims")
    contract_code = models.CharField(max_length=40)
    period_code = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=ClaimStatus.choices, default=ClaimStatus.DRAFT)
    computed_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    total = models.DecimalField(max_digits=14, decimal_places=2)
    payer_totals = models.JSONField(default=dict)

    class Meta:
        ordering = ["contract_code", "computed_at"]
        constraints = [
            # One claim per period: the draft is replaced until it is submitted.
            models.UniqueConstraint(
                fields=["contract_code", "period_code"], name="claim_one_per_period"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(submitted_at__isnull=False),
                name="claim_submitted_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract_code} {self.period_code} ({self.status})"


class ClaimLineKind(models.TextChoices):
    CLAIM = "claim", "Claim"
    ADJUSTMENT = "adjustment", "Adjustment"


class ClaimLine(models.Model):
    """One achievement claimed (or reversed) in a claim, with its payer portions."""

    # served by the (claim, position) key: no index of its own
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="lines", db_index=False)
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=ClaimLineKind.choices)
    upn = models.CharField(max_length=13)
    trigger = models.CharField(max_length=40)
    instance = models.CharField(max_length=40)
    achieved_on = models.DateField(null=True, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    portions = models.JSONField()
    evidence = models.JSONField(default=list)
    # Set when the contract's audit period is over and the line's UPN and evidence were
    # removed: the one change the database lets through on a submitted claim's line.
    evidence_removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["claim", "position"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "position"], name="claim_line_position"),
            models.CheckConstraint(
                condition=Q(kind="adjustment", achieved_on__isnull=True)
                | Q(kind="claim", achieved_on__isnull=False),
                name="claim_line_date_by_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.upn} {self.trigger} {self.instance}"


class ClaimedAchievement(models.Model):
    """An achievement standing in a submitted claim: the database's guard against
    claiming it twice.

    One row per submitted claim line. A later adjustment line that reverses it sets
    `released_by`; only then may the same (contract, child, trigger, instance) be claimed
    again, by a new row, and only if the data supports it again. Rows are deleted only
    once their line's evidence is removed, at the end of the contract's audit period.
    """

    contract_code = models.CharField(max_length=40)
    upn = models.CharField(max_length=13)
    trigger = models.CharField(max_length=40)
    instance = models.CharField(max_length=40)
    line = models.OneToOneField(ClaimLine, on_delete=models.PROTECT, related_name="claimed")
    released_by = models.OneToOneField(
        ClaimLine, null=True, blank=True, on_delete=models.PROTECT, related_name="released"
    )

    class Meta:
        ordering = ["contract_code", "upn", "trigger", "instance"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract_code", "upn", "trigger", "instance"],
                condition=Q(released_by__isnull=True),
                name="claimed_achievement_once",
            ),
        ]
        indexes = [models.Index(fields=["contract_code", "upn"])]

    def __str__(self) -> str:
        return f"{self.contract_code} {self.upn} {self.trigger} {self.instance}"


class Payment(models.Model):
    """A payment received from one payer for a submitted claim: who recorded it, when it
    was paid, how much. A payer may pay its due in parts (never more than is still due);
    the claim is paid when every payer's payments add up to its due."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="payments")
    payer_code = models.CharField(max_length=40)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    paid_on = models.DateField()
    reference = models.CharField(max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["claim", "payer_code", "recorded_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="payment_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.claim} {self.payer_code} {self.amount}"
