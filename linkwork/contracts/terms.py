"""A contract's terms as frozen dataclasses, built from the normalised document.

The achievements engine and the claims computation read these, never the ORM.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Period:
    code: str
    starts_on: dt.date
    ends_on: dt.date


@dataclass(frozen=True)
class Payer:
    code: str
    name: str
    cap: Decimal | None = None


@dataclass(frozen=True)
class Trigger:
    code: str
    kind: str  # enrolment, engagement, outcome
    price: Decimal
    shares: tuple[tuple[str, Decimal], ...]  # in the order the file lists them
    max_per_child: int = 1
    min_sessions: int = 0
    min_attendance: Decimal = Decimal(0)
    min_engaged: Decimal | None = None
    measure: str | None = None  # "score" or "attainment" for outcomes
    instrument: str = ""
    scale: str = ""
    respondent: str | None = None
    at_risk_from: Decimal | None = None
    at_risk_below: Decimal | None = None
    subject: str = ""
    below_expected_by: Decimal = Decimal(1)
    achieved_when: str = ""
    sd: Decimal | None = None
    reliability: Decimal | None = None
    min_gain: Decimal | None = None
    follow_up_after_days: int = 300


@dataclass(frozen=True)
class ContractTerms:
    code: str
    version: int
    name: str
    starts_on: dt.date
    ends_on: dt.date
    cohorts: tuple[str, ...]
    periods: tuple[Period, ...]
    payers: tuple[Payer, ...]
    triggers: tuple[Trigger, ...]
    cap_per_child: Decimal | None = None
    cap_contract: Decimal | None = None

    def period(self, code: str) -> Period:
        for period in self.periods:
            if period.code == code:
                return period
        raise KeyError(code)

    def trigger_order(self) -> dict[str, int]:
        return {trigger.code: index for index, trigger in enumerate(self.triggers)}

    def period_order(self) -> dict[str, int]:
        return {period.code: index for index, period in enumerate(self.periods)}


def _dec(value) -> Decimal | None:
    return None if value is None else Decimal(value)


def _date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def terms_from_document(document: dict, *, version: int = 1) -> ContractTerms:
    """The terms of a document returned by `documents.parse_contract`."""
    triggers = []
    for t in document["triggers"]:
        fields = {
            "code": t["code"],
            "kind": t["kind"],
            "price": Decimal(t["price"]),
            "shares": tuple((payer, Decimal(share)) for payer, share in t["shares"].items()),
        }
        if t["kind"] == "engagement":
            fields.update(
                max_per_child=t["max_per_child"],
                min_sessions=t["min_sessions"],
                min_attendance=Decimal(t["min_attendance"]),
                min_engaged=_dec(t.get("min_engaged")),
            )
        elif t["kind"] == "outcome":
            fields.update(
                measure=t["measure"],
                achieved_when=t["achieved_when"],
                follow_up_after_days=t["follow_up_after_days"],
            )
            if t["measure"] == "score":
                instrument, scale = t["score"].split("/", 1)
                fields.update(
                    instrument=instrument,
                    scale=scale,
                    respondent=t.get("respondent"),
                    at_risk_from=_dec(t.get("at_risk_from")),
                    at_risk_below=_dec(t.get("at_risk_below")),
                    sd=_dec(t.get("sd")),
                    reliability=_dec(t.get("reliability")),
                )
            else:
                fields.update(
                    subject=t["attainment"],
                    below_expected_by=Decimal(t["below_expected_by"]),
                    min_gain=_dec(t.get("min_gain")),
                )
        triggers.append(Trigger(**fields))
    caps = document.get("caps") or {}
    return ContractTerms(
        code=document["code"],
        version=version,
        name=document["name"],
        starts_on=_date(document["starts_on"]),
        ends_on=_date(document["ends_on"]),
        cohorts=tuple(document["cohorts"]),
        periods=tuple(
            Period(p["code"], _date(p["starts_on"]), _date(p["ends_on"]))
            for p in document["periods"]
        ),
        payers=tuple(Payer(p["code"], p["name"], _dec(p.get("cap"))) for p in document["payers"]),
        triggers=tuple(triggers),
        cap_per_child=_dec(caps.get("per_child")),
        cap_contract=_dec(caps.get("contract")),
    )
