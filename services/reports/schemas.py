"""What crosses the reports service's boundary: the ranking_updated event it consumes, the optional apology
figures a commitment takes, and the file descriptions it answers with (validated, then passed on as dicts)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class RankingUpdated(Schema):
    """scoring's ranking_updated (other keys are passed through)."""

    class Meta:
        unknown = "include"

    set_id = fields.String(required=True, validate=validate.Length(min=1, max=80))
    year = fields.Integer(required=True)
    unit_kind = fields.String(required=True)
    version = fields.Integer(required=True, validate=validate.Range(min=1))


class Apologies(Schema):
    """Share (%) of late dossiers whose applicant got a written apology: last year's and this year's.

    Until the notifications service keeps these figures they are an input; a missing one prints as
    "chưa có số liệu" (no data yet).
    """

    last_year = fields.Decimal(allow_none=True, load_default=None, validate=validate.Range(min=0, max=100))
    actual = fields.Decimal(allow_none=True, load_default=None, validate=validate.Range(min=0, max=100))


class StoredFileSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    key = fields.String()
    version = fields.Integer()
    format = fields.String()
    title = fields.String()
    filename = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    token = fields.String()
    url = fields.String()
    url_expires_at = fields.String()
    built_at = fields.String()
    sources = fields.Dict()


class BuildResultSchema(Schema):
    kind = fields.String()
    key = fields.String()
    title = fields.String()
    version = fields.Integer()
    built = fields.Boolean()
    files = fields.List(fields.Nested(StoredFileSchema))
