"""Who hears what: from an event (or a digest, a window, a ranking) to the notifications it produces.

Pure functions over plain data: no database, no nameko. Each returns :class:`Draft` s; the outbox renders and
stores them once per (topic, kind, channel, recipient), which is what makes a duplicate event harmless.

* ``dossier_late`` → the apology to the applicant (email with the letter as PDF for online applicants; SMS
  where only a phone is known; a printable letter queued at the unit for in-person and postal ones, or when no
  contact is known), an alert to the unit's one-door lead (email, and SMS if a phone is configured), the
  webhooks subscribed to ``late_alert``, and an item of the lead's next overdue digest;
* ``dossier_due_soon`` → an item of the lead's next due-soon digest;
* a digest → email to the lead, and the subscribed webhooks;
* a submission window opening / closing → email to each unit's lead address, and the subscribed webhooks;
* ``ranking_updated`` (debounced) → the announcement lists, every lead of that unit kind, the webhooks (for a set
  in a season it is sent when the office publishes the results: that is the "results published" notice);
* ``season_explanation_requested`` → the unit's lead (email), the webhooks;
* ``season_explanation_answered`` → the office and the appraisal council (``announcements.appraisal_emails``),
  the webhooks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.calendar import LOCAL_TZ

KINDS = (
    "apology",
    "late_alert",
    "due_soon_digest",
    "overdue_digest",
    "window_opening",
    "window_closing",
    "ranking_published",
    "explanation_requested",
    "explanation_answered",
)
CHANNEL_VI = {"in_person": "nộp trực tiếp", "online": "nộp trực tuyến", "post": "nộp qua dịch vụ bưu chính"}
UNIT_KIND_VI = {"department": "sở, ban, ngành", "commune": "xã, phường", "district": "huyện, thị xã",
                "province": "tỉnh"}
APOLOGY_DELIVERY_VI = {
    "email": "đã gửi cho người nộp hồ sơ qua thư điện tử (kèm văn bản PDF)",
    "sms": "đã gửi cho người nộp hồ sơ qua tin nhắn SMS",
    "letter": "văn bản đã được đưa vào hàng đợi in để trao hoặc gửi cho người nộp hồ sơ",
}


@dataclass(frozen=True)
class UnitInfo:
    code: str
    name: str
    kind: str
    parent_code: str | None = None


@dataclass(frozen=True)
class Lead:
    """A unit's one-door lead (lãnh đạo bộ phận một cửa): where alerts and digests go."""

    email: str | None = None
    phone: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Draft:
    """A notification to produce: rendered from ``kind``/``channel`` templates with ``context``."""

    topic: str
    kind: str
    channel: str
    recipient: str
    context: Mapping[str, Any]
    unit_code: str | None = None
    dossier_code: str | None = None
    document: str | None = None
    personal: tuple[str, ...] = ()


@dataclass
class Directory:
    """Recipients: unit leads and webhooks from configuration, units from the registry (dossiers.units())."""

    units: dict[str, UnitInfo] = field(default_factory=dict)
    leads: dict[str, Lead] = field(default_factory=dict)
    lead_email_pattern: str = ""
    webhooks: list[tuple[str, frozenset[str]]] = field(default_factory=list)
    announcement_emails: list[str] = field(default_factory=list)
    announce_to_unit_leads: bool = True
    appraisal_emails: list[str] = field(default_factory=list)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], units: Iterable[UnitInfo] = ()) -> Directory:
        leads = {
            str(code): Lead(email=_clean(v.get("email")), phone=_clean(v.get("phone")), name=_clean(v.get("name")))
            for code, v in (settings.get("leads") or {}).items()
        }
        hooks = [(str(w["name"]), frozenset(w.get("kinds") or KINDS[1:])) for w in settings.get("webhooks") or []]
        announcements = settings.get("announcements") or {}
        return cls(
            units={u.code: u for u in units},
            leads=leads,
            lead_email_pattern=str(settings.get("lead_email_pattern") or ""),
            webhooks=hooks,
            announcement_emails=[str(e) for e in announcements.get("emails") or []],
            announce_to_unit_leads=bool(announcements.get("to_unit_leads", True)),
            appraisal_emails=[str(e) for e in announcements.get("appraisal_emails") or []],
        )

    def lead(self, unit_code: str) -> Lead | None:
        configured = self.leads.get(unit_code)
        if configured is not None:
            return configured
        if self.lead_email_pattern:
            return Lead(email=self.lead_email_pattern.replace("{unit_code}", unit_code))
        return None

    def unit_name(self, unit_code: str, fallback: str | None = None) -> str:
        unit = self.units.get(unit_code)
        return unit.name if unit else (fallback or unit_code)

    def webhooks_for(self, kind: str) -> list[str]:
        return [name for name, kinds in self.webhooks if kind in kinds]

    def units_of_kind(self, kind: str | None) -> list[UnitInfo]:
        return sorted((u for u in self.units.values() if kind is None or u.kind == kind), key=lambda u: u.code)

    def root(self) -> UnitInfo | None:
        return next((u for u in self.units.values() if u.kind == "province"), None)


def _clean(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


# -- dates as the messages write them ---------------------------------------------------------------------
def local(value: dt.datetime | str | None) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.astimezone(LOCAL_TZ)


def day(value: dt.date | dt.datetime | str | None) -> str:
    """``06/07/2026``"""
    if isinstance(value, dt.datetime | str):
        value = local(value)
    return value.strftime("%d/%m/%Y") if value else "…"


def moment(value: dt.datetime | str | None) -> str:
    """``09:15 ngày 06/07/2026``"""
    value = local(value)
    return f"{value:%H:%M} ngày {value:%d/%m/%Y}" if value else "…"


# -- dossier_late -------------------------------------------------------------------------------------------
def applicant_channel(channel: str | None, applicant: Mapping[str, Any] | None) -> tuple[str, str | None]:
    """Where the apology goes: ("email", address), ("sms", phone), or ("letter", None) to be printed.

    Online applicants get it electronically (email if known, else SMS); in-person and postal applicants get it
    on paper, and so does anyone whose contact is unknown.
    """
    applicant = applicant or {}
    email, phone = _clean(applicant.get("email")), _clean(applicant.get("phone"))
    electronic = channel == "online" or (channel is None and (email or phone))
    if electronic and email:
        return "email", email
    if electronic and phone:
        return "sms", phone
    return "letter", None


def dossier_facts(payload: Mapping[str, Any], directory: Directory) -> dict[str, Any]:
    """What any message about a dossier may say: no personal data."""
    unit_code = payload["unit_code"]
    return {
        "dossier_code": payload["dossier_code"],
        "unit_code": unit_code,
        "unit_name": payload.get("unit_name") or directory.unit_name(unit_code),
        "procedure_code": payload.get("procedure_code") or "",
        "procedure_name": payload.get("procedure_name") or payload.get("procedure_code") or "…",
        "field": payload.get("field") or "…",
        "channel_vi": CHANNEL_VI.get(payload.get("channel") or "", "không rõ kênh nộp"),
        "received_on": day(payload.get("received_at")),
        "due_on": day(payload.get("due_at")),
        "detected_at": moment(payload.get("detected_at")),
    }


def for_dossier_late(payload: Mapping[str, Any], letter: Mapping[str, Any], directory: Directory) -> list[Draft]:
    """The apology (by the applicant's channel) and the lead's alert; ``letter`` is the letter's context."""
    code, unit_code = payload["dossier_code"], payload["unit_code"]
    applicant = payload.get("applicant") or {}
    personal = tuple(v for v in (_clean(applicant.get(k)) for k in ("name", "email", "phone", "address")) if v)
    channel, address = applicant_channel(payload.get("channel"), applicant)
    drafts = [
        Draft(topic=code, kind="apology", channel=channel, recipient=address or unit_code, context=letter,
              unit_code=unit_code, dossier_code=code, document=None if channel == "sms" else "apology_letter",
              personal=personal)
    ]
    facts = {**dossier_facts(payload, directory), "number": letter["number"], "new_due_on": letter["new_due_on"],
             "apology_delivery": APOLOGY_DELIVERY_VI[channel]}
    lead = directory.lead(unit_code)
    if lead is not None:
        lead_personal = tuple(v for v in (lead.email, lead.phone, lead.name) if v)
        for lead_channel, lead_address in (("email", lead.email), ("sms", lead.phone)):
            if lead_address:
                drafts.append(Draft(topic=code, kind="late_alert", channel=lead_channel, recipient=lead_address,
                                    context=facts, unit_code=unit_code, dossier_code=code, personal=lead_personal))
    drafts.extend(Draft(topic=code, kind="late_alert", channel="webhook", recipient=name, context=facts,
                        unit_code=unit_code, dossier_code=code) for name in directory.webhooks_for("late_alert"))
    return drafts


def digest_item(payload: Mapping[str, Any], new_due_on: str | None = None) -> dict[str, Any]:
    """A dossier's line in a digest (no personal data)."""
    return {
        "dossier_code": payload["dossier_code"],
        "procedure_name": payload.get("procedure_name") or payload.get("procedure_code") or "…",
        "received_on": day(payload.get("received_at")),
        "due_on": day(payload.get("due_at")),
        "new_due_on": new_due_on,
    }


def for_digest(kind: str, unit_code: str, digest_id: str, items: Sequence[Mapping[str, Any]], as_of: dt.datetime,
               directory: Directory) -> list[Draft]:
    """One due-soon (``kind`` = due_soon) or overdue digest of a unit to its lead and the subscribed webhooks."""
    message_kind = f"{kind}_digest"
    context = {"unit_code": unit_code, "unit_name": directory.unit_name(unit_code), "items": list(items),
               "count": len(items), "as_of": moment(as_of)}
    drafts = []
    lead = directory.lead(unit_code)
    if lead is not None and lead.email:
        drafts.append(Draft(topic=digest_id, kind=message_kind, channel="email", recipient=lead.email,
                            context=context, unit_code=unit_code, personal=tuple(v for v in (lead.email,) if v)))
    drafts.extend(Draft(topic=digest_id, kind=message_kind, channel="webhook", recipient=name, context=context,
                        unit_code=unit_code) for name in directory.webhooks_for(message_kind))
    return drafts


# -- submission windows and rankings ----------------------------------------------------------------------
def for_window(kind: str, window: Mapping[str, Any], directory: Directory) -> list[Draft]:
    """Reminders of a criteria set's self-assessment window (``kind`` window_opening / window_closing)."""
    opens, closes = window["opens"], window["closes"]
    topic = f"{window['set_id']}:{opens}:{closes}"
    base = {"set_id": window["set_id"], "title": window.get("title") or window["set_id"],
            "opens_at": moment(opens), "closes_at": moment(closes)}
    codes = window.get("unit_codes") or [u.code for u in directory.units_of_kind(window.get("unit_kind"))]
    drafts = []
    for code in codes:
        lead = directory.lead(code)
        if lead is not None and lead.email:
            drafts.append(Draft(topic=topic, kind=kind, channel="email", recipient=lead.email, unit_code=code,
                                context={**base, "unit_code": code, "unit_name": directory.unit_name(code)},
                                personal=(lead.email,)))
    drafts.extend(Draft(topic=topic, kind=kind, channel="webhook", recipient=name,
                        context={**base, "unit_codes": list(codes)}) for name in directory.webhooks_for(kind))
    return drafts


def for_ranking(payload: Mapping[str, Any], directory: Directory) -> list[Draft]:
    """The announcement that a set's ranking changed (the latest version after the debounce)."""
    kind = "ranking_published"
    topic = f"{payload['set_id']}:v{payload['version']}"
    base = {"set_id": payload["set_id"], "year": payload.get("year", ""), "version": payload["version"],
            "units": payload.get("units", 0), "unit_kind_vi": UNIT_KIND_VI.get(payload.get("unit_kind", ""), ""),
            "computed_at": moment(payload.get("computed_at"))}
    addresses: dict[str, str | None] = {email: None for email in directory.announcement_emails}
    if directory.announce_to_unit_leads:
        for unit in directory.units_of_kind(payload.get("unit_kind")):
            lead = directory.lead(unit.code)
            if lead is not None and lead.email:
                addresses.setdefault(lead.email, unit.code)
    drafts = [
        Draft(topic=topic, kind=kind, channel="email", recipient=email, unit_code=code, personal=(email,),
              context={**base, "addressee": directory.unit_name(code) if code else "Các cơ quan, đơn vị"})
        for email, code in addresses.items()
    ]
    drafts.extend(Draft(topic=topic, kind=kind, channel="webhook", recipient=name, context=base)
                  for name in directory.webhooks_for(kind))
    return drafts


# -- the season's appraisal dialogue ------------------------------------------------------------------------
def explanation_context(payload: Mapping[str, Any], directory: Directory) -> dict[str, Any]:
    return {"set_id": payload["set_id"], "set_title": payload.get("set_title") or payload["set_id"],
            "unit_code": payload["unit_code"], "unit_name": directory.unit_name(payload["unit_code"]),
            "leaf_id": payload["leaf_id"], "leaf_title": payload.get("leaf_title") or "",
            "request": payload.get("request") or "", "answer": payload.get("answer") or "",
            "files": int(payload.get("files") or 0), "deadline": moment(payload.get("deadline")),
            "answered_at": moment(payload.get("answered_at"))}


def for_explanation(kind: str, payload: Mapping[str, Any], directory: Directory) -> list[Draft]:
    """``explanation_requested`` → the unit's lead; ``explanation_answered`` → the office and the council. The
    topic names the request (set, unit, leaf, deadline or answer time), so a redelivered event sends nothing more."""
    context = explanation_context(payload, directory)
    unit_code = payload["unit_code"]
    stamp = payload.get("deadline") if kind == "explanation_requested" else payload.get("answered_at")
    topic = f"{payload['set_id']}:{unit_code}:{payload['leaf_id']}:{stamp}"
    if kind == "explanation_requested":
        lead = directory.lead(unit_code)
        addresses = [lead.email] if lead is not None and lead.email else []
    else:
        addresses = list(directory.appraisal_emails)
    drafts = [Draft(topic=topic, kind=kind, channel="email", recipient=address, context=context, unit_code=unit_code,
                    personal=(address,)) for address in addresses]
    drafts.extend(Draft(topic=topic, kind=kind, channel="webhook", recipient=name, context=context,
                        unit_code=unit_code) for name in directory.webhooks_for(kind))
    return drafts
