"""What crosses the dossiers service's RPC boundary, dumped by marshmallow (inbound events: shared.events)."""

from __future__ import annotations

from marshmallow import Schema, fields


class EventRecordSchema(Schema):
    event_id = fields.String()
    event_type = fields.String()
    time = fields.AwareDateTime()
    source = fields.String()
    rejected_reason = fields.String(allow_none=True)


class DossierFieldsSchema(Schema):
    dossier_code = fields.String()
    status = fields.String()
    status_code = fields.Integer()
    unit_code = fields.String(allow_none=True)
    procedure_code = fields.String(allow_none=True)
    channel = fields.String(allow_none=True)
    received_at = fields.AwareDateTime(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)
    onedoor_due_at = fields.AwareDateTime(allow_none=True)
    due_mismatch = fields.Boolean()
    paused = fields.Boolean()
    supplement_rounds = fields.Integer()
    closing = fields.String(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    finished_at = fields.AwareDateTime(allow_none=True)
    returned_at = fields.AwareDateTime(allow_none=True)
    outcome = fields.String(allow_none=True)
    on_time_766 = fields.Boolean(allow_none=True)
    late_reported_at = fields.AwareDateTime(allow_none=True)
    new_due_at = fields.AwareDateTime(allow_none=True)
    late_notified_at = fields.AwareDateTime(allow_none=True)


class DossierSchema(Schema):
    """One dossier with its event history; applicant data is deliberately not exposed here."""

    dossier = fields.Nested(DossierFieldsSchema)
    events = fields.List(fields.Nested(EventRecordSchema))


class StatsSchema(Schema):
    """Period statistics as plain JSON (rates are strings: exact decimals, never floats)."""

    unit_code = fields.String()
    unit_name = fields.String()
    period = fields.String()
    period_title = fields.String()
    start = fields.String()
    end = fields.String()
    as_of = fields.String()
    granularity = fields.String()
    carried_over = fields.Integer()
    received_new = fields.Integer()
    total = fields.Integer()
    finished_early = fields.Integer()
    finished_on_time = fields.Integer()
    finished_late = fields.Integer()
    finished = fields.Integer()
    unfinished_within = fields.Integer()
    unfinished_overdue = fields.Integer()
    unfinished = fields.Integer()
    withdrawn = fields.Integer()
    returned = fields.Integer()
    on_time_rate = fields.String()
    on_time_766 = fields.Integer()
    progress_766_total = fields.Integer()
    progress_766_rate = fields.String()
    progress_766_score = fields.String()
    received_online = fields.Integer()
    online_share = fields.String()
