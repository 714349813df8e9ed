from django.db import migrations


def install(apps, schema_editor):
    from linkwork.measures.shipped import shipped_instruments

    Instrument = apps.get_model("measures", "Instrument")
    AuditEntry = apps.get_model("audit", "AuditEntry")
    from django.utils import timezone

    for document, source in shipped_instruments():
        latest = Instrument.objects.filter(code=document["code"]).order_by("-version").first()
        if latest is not None and latest.definition == document:
            continue
        instrument = Instrument.objects.create(
            code=document["code"],
            version=(latest.version + 1) if latest else 1,
            name=document["name"],
            definition=document,
            source=source,
        )
        AuditEntry.objects.create(
            at=timezone.now(), actor=None, actor_label="system", action="instrument.stored",
            object_type="measures.Instrument", object_id=str(instrument.pk),
            summary=f"{instrument.code} version {instrument.version} (shipped)",
            changes={"code": instrument.code, "version": instrument.version},
        )


class Migration(migrations.Migration):

    dependencies = [
        ("measures", "0001_initial"),
        ("audit", "0002_append_only_on_postgresql"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
