"""What crosses the dossiers service's RPC boundary, dumped by marshmallow (inbound events: shared.events)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from shared.local_time import LocalDateTime


class EventRecordSchema(Schema):
    event_id = fields.String()
    event_type = fields.String()
    time = LocalDateTime()
    source = fields.String()
    rejected_reason = fields.String(allow_none=True)


class DossierFieldsSchema(Schema):
    dossier_code = fields.String()
    status = fields.String()
    status_code = fields.Integer()
    unit_code = fields.String(allow_none=True)
    procedure_code = fields.String(allow_none=True)
    channel = fields.String(allow_none=True)
    received_at = LocalDateTime(allow_none=True)
    processing_time = fields.Decimal(attribute="processing_amount", as_string=True, allow_none=True)
    time_unit = fields.String(allow_none=True)
    time_source = fields.String(allow_none=True)  # payload | catalogue: whose processing time applies
    payload_time = fields.Decimal(attribute="payload_amount", as_string=True, allow_none=True)
    payload_unit = fields.String(allow_none=True)
    catalogue_time = fields.Decimal(attribute="catalogue_amount", as_string=True, allow_none=True)
    catalogue_unit = fields.String(allow_none=True)
    time_mismatch = fields.Boolean()
    due_at = LocalDateTime(allow_none=True)
    onedoor_due_at = LocalDateTime(allow_none=True)
    due_mismatch = fields.Boolean()
    paused = fields.Boolean()
    supplement_rounds = fields.Integer()
    closing = fields.String(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)
    finished_at = LocalDateTime(allow_none=True)
    returned_at = LocalDateTime(allow_none=True)
    outcome = fields.String(allow_none=True)
    on_time_766 = fields.Boolean(allow_none=True)
    late_reported_at = LocalDateTime(allow_none=True)
    new_due_at = LocalDateTime(allow_none=True)
    late_notified_at = LocalDateTime(allow_none=True)


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



STATS_FIELDS = tuple(StatsSchema._declared_fields)


def dump_stats(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``StatsSchema(many=True).dump`` of ``PeriodStats.to_dict()`` rows, without marshmallow: those rows are
    already JSON-ready (strings, ints, None) with every field of the schema, so the dump is a copy of the schema's
    keys — and a province's table dumps thousands of rows per page view (a test holds the two equal)."""
    return [{name: row[name] for name in STATS_FIELDS} for row in rows]

class ProcedureSchema(Schema):
    code = fields.String()
    key = fields.String()
    name = fields.String()
    field = fields.String()
    level = fields.String()
    agency = fields.String(allow_none=True)
    time_text = fields.String(allow_none=True)
    processing_time = fields.Decimal(attribute="processing_amount", as_string=True, allow_none=True)
    time_unit = fields.String()
    cutoff_15h = fields.Function(lambda p: p.cutoff is not None)
    reduced = fields.Boolean()


class ProcedureVersionSchema(Schema):
    version = fields.Integer()
    imported_at = LocalDateTime(allow_none=True)
    imported_by = fields.String(allow_none=True)
    source_name = fields.String(allow_none=True)
    procedure = fields.Nested(ProcedureSchema)


class CatalogueProcedureSchema(Schema):
    """``cchc catalogue show``: the procedure in the catalogue in force (null if the newest version lacks it)."""

    key = fields.String()
    version = fields.Integer()
    procedure = fields.Nested(ProcedureSchema, allow_none=True)
    history = fields.List(fields.Nested(ProcedureVersionSchema))


class CatalogueVersionSchema(Schema):
    version = fields.Integer()
    imported_at = LocalDateTime()
    imported_by = fields.String()
    source_name = fields.String()
    source_sha256 = fields.String()
    mode = fields.String()
    procedures = fields.Integer()
    rows_in_file = fields.Integer()
    skipped = fields.Integer()


class GapSchema(Schema):
    """A procedure named by receipts but not in the catalogue in force."""

    code = fields.String()
    dossiers = fields.Integer()  # stored with the payload's processing time
    refused = fields.Integer()  # refused receipts waiting for the procedure to be imported
    first_received = fields.Date(allow_none=True)
    last_received = fields.Date(allow_none=True)
    units = fields.Integer()
