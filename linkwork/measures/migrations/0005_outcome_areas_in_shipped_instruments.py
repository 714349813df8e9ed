"""The shipped instrument definitions now say which outcome area each of their scales
counts in (`outcome_area`). A database whose latest SDQ or SCWBS is the shipped
definition as it was before gets the new one as its next version; a zone's own
definition is left alone (it can add `outcome_area` itself)."""

from django.db import migrations


def _without_areas(document: dict) -> dict:
    scales = {
        code: {key: value for key, value in scale.items() if key != "outcome_area"}
        for code, scale in document.get("scales", {}).items()
    }
    return {**document, "scales": scales}


def add_areas(apps, schema_editor):
    from django.utils import timezone

    from linkwork.measures.shipped import shipped_instruments

    Instrument = apps.get_model("measures", "Instrument")
    AuditEntry = apps.get_model("audit", "AuditEntry")
    for document, source in shipped_instruments():
        code = document["code"]
        latest = Instrument.objects.filter(code=code).order_by("-version").first()
        if latest is None or latest.definition == document:
            continue
        if latest.definition != _without_areas(document):
            continue  # the zone's own definition
        instrument = Instrument.objects.create(
            code=code,
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
            summary=f"{code} version {instrument.version} (shipped: outcome areas of scales)",
            changes={"code": code, "version": instrument.version},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("measures", "0004_foreign_keys_indexed_by_their_keys"),
        ("audit", "0004_redaction_on_erasure"),
    ]

    operations = [migrations.RunPython(add_areas, migrations.RunPython.noop)]
