"""Writes for instruments and their administrations."""

from django.db import transaction

from linkwork.audit.services import record

from .models import Instrument


@transaction.atomic
def store_instrument(*, actor, document: dict, source: str) -> Instrument:
    """Store a checked instrument definition as the next version of its code.

    Storing the same definition as the latest version changes nothing and returns it.
    """
    code = document["code"]
    latest = Instrument.objects.select_for_update().filter(code=code).order_by("-version").first()
    if latest is not None and latest.definition == document:
        return latest
    instrument = Instrument.objects.create(
        code=code,
        version=(latest.version + 1) if latest else 1,
        name=document["name"],
        definition=document,
        source=source,
    )
    record(
        actor=actor,
        action="instrument.stored",
        obj=instrument,
        summary=f"{code} version {instrument.version}",
        changes={"code": code, "version": instrument.version},
    )
    return instrument
