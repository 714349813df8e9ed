"""The shipped SDQ definition's self-report conduct bands were one point low (slightly
raised from 3, high from 4); the published bands start at 4 and 5, and the secondary
at-risk threshold (the self form's high band) is 5. A database whose latest SDQ is the
old shipped definition gets the corrected one as its next version; a zone's own SDQ
definition is left alone."""

from django.db import migrations

OLD_SELF_CONDUCT = [
    ["0", "close to average"],
    ["3", "slightly raised"],
    ["4", "high"],
    ["5", "very high"],
]


def correct(apps, schema_editor):
    from django.utils import timezone

    from linkwork.measures.shipped import shipped_instruments

    Instrument = apps.get_model("measures", "Instrument")
    AuditEntry = apps.get_model("audit", "AuditEntry")
    latest = Instrument.objects.filter(code="SDQ").order_by("-version").first()
    if latest is None:
        return
    conduct = latest.definition.get("scales", {}).get("conduct", {})
    if conduct.get("bands", {}).get("self") != OLD_SELF_CONDUCT:
        return
    document, source = next((d, s) for d, s in shipped_instruments() if d["code"] == "SDQ")
    instrument = Instrument.objects.create(
        code="SDQ",
        version=latest.version + 1,
        name=document["name"],
        definition=document,
        source=source,
    )
    AuditEntry.objects.create(
        at=timezone.now(),
        actor=None,
        actor_label="system",
        action="instrument.stored",
        object_type="measures.Instrument",
        object_id=str(instrument.pk),
        summary=f"SDQ version {instrument.version} (shipped: self-report conduct bands)",
        changes={"code": "SDQ", "version": instrument.version},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("measures", "0002_install_shipped_instruments"),
    ]

    operations = [migrations.RunPython(correct, migrations.RunPython.noop)]
