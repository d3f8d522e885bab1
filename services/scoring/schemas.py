"""What crosses the scoring service's boundary as events: validated at the edge (marshmallow)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

__all__ = ["ScoreSubmitted", "TimelinessUpdated"]


class TimelinessUpdated(Schema):
    """What scoring needs from dossiers' timeliness_updated (other keys are passed through; a rate sent as
    null means nothing to measure)."""

    class Meta:
        unknown = "include"

    unit_code = fields.String(required=True)
    unit_kind = fields.String(required=True)
    period = fields.String(required=True)


class ScoreSubmitted(Schema):
    """A unit's self-assessment arriving as an event (routing key score_submitted on cchc_portal.events)."""

    set_id = fields.String(required=True)
    unit_code = fields.String(required=True)
    actor = fields.String(required=True, validate=validate.Length(min=1, max=200))
    final = fields.Boolean(load_default=False)
    scores = fields.List(fields.Dict(), required=True)
