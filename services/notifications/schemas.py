"""What the notifications service accepts from other services' events (other keys are passed through)."""

from __future__ import annotations

import datetime as dt

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate


def _aware_iso(value: str) -> None:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError("Not a valid ISO 8601 datetime.") from None
    if parsed.tzinfo is None:
        raise ValidationError("Must include a UTC offset.")


def _instant(required: bool = False) -> fields.String:
    """An ISO 8601 instant with its offset, kept as the string the event carried."""
    return fields.String(required=required, allow_none=not required, validate=_aware_iso)


class _Passthrough(Schema):
    class Meta:
        unknown = INCLUDE


class Applicant(_Passthrough):
    name = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True)


class DossierAlert(_Passthrough):
    """dossier_late and dossier_due_soon from the dossiers service (services/dossiers/alerts.py)."""

    dossier_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    unit_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    unit_name = fields.String(allow_none=True)
    procedure_code = fields.String(allow_none=True)
    procedure_name = fields.String(allow_none=True)
    field = fields.String(allow_none=True)
    channel = fields.String(allow_none=True, validate=validate.OneOf(["in_person", "online", "post"]))
    received_at = _instant()
    due_at = _instant(required=True)
    new_due_at = _instant()
    detected_at = _instant()
    applicant = fields.Nested(Applicant, allow_none=True)


class ExplanationEvent(_Passthrough):
    """season_explanation_requested / season_explanation_answered from the scoring service (season_store.py)."""

    set_id = fields.String(required=True)
    unit_code = fields.String(required=True)
    leaf_id = fields.String(required=True)


class RankingUpdated(_Passthrough):
    """ranking_updated from the scoring service (services/scoring/recalc.py)."""

    set_id = fields.String(required=True)
    version = fields.Integer(required=True)
    year = fields.Integer(required=True)
    unit_kind = fields.String(required=True)
    units = fields.Integer(load_default=0)
    computed_at = _instant()
