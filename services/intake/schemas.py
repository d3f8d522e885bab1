"""What the intake answers, as marshmallow schemas: the OpenAPI document (openapi.py) is generated from them."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

STATUSES = ("accepted", "refused", "not_taken")


class EventResultSchema(Schema):
    index = fields.Integer(required=True, metadata={"description": "Position of the event in the request, from 0."})
    event_id = fields.String(required=True, allow_none=True,
                             metadata={"description": "The envelope's event_id, when it has a readable one."})
    status = fields.String(required=True, validate=validate.OneOf(STATUSES), metadata={
        "description": "accepted: the broker confirmed it (it will be processed; resending it is harmless). "
                       "refused: it fails the contract — do not resend it as is (see field and reason). "
                       "not_taken: the broker did not confirm it — resend it (the same event_id is harmless)."})
    field = fields.String(metadata={"description": "Dotted path of the first invalid field (refused only)."})
    reason = fields.String(metadata={"description": "Why it was refused or not taken."})


class AnswerSchema(Schema):
    """The verdict on every event of the request, in request order."""

    accepted = fields.Integer(required=True)
    refused = fields.Integer(required=True)
    not_taken = fields.Integer(required=True)
    results = fields.List(fields.Nested(EventResultSchema), required=True)


class ProblemSchema(Schema):
    """A request refused as a whole: nothing of it was published."""

    error = fields.String(required=True, validate=validate.OneOf(
        ("bad_request", "unauthorized", "rate_limited")))
    reason = fields.String(required=True)


class UnavailableSchema(AnswerSchema):
    """The broker is unavailable or confirmed only part of the request: the results say which events it took."""

    error = fields.String(required=True, validate=validate.OneOf(("broker_unavailable",)))
    reason = fields.String(required=True)
