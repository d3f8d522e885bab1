"""The HTTP intake's contract, OpenAPI 3.1, written next to the AsyncAPI one (``docs/contract/openapi.yaml``).

Generated, never hand-edited: the answers come from services/intake/schemas.py through the same apispec converter
as the event contract (shared/contract.py), and each event in a request refers to the event's published JSON Schema
file (``dossier.received.schema.json`` …) beside it, so the two contracts cannot describe different events.
``cchc contract`` writes it; a test fails when the committed file is stale.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.intake.schemas import AnswerSchema, EventResultSchema, ProblemSchema, UnavailableSchema
from shared.config import defaults
from shared.contract import GENERATED_BY, SCHEMA_SUFFIX, example, to_yaml, translate
from shared.events import CATALOGUE, ONEDOOR_EXCHANGE

OPENAPI_FILE = "openapi.yaml"
GENERATED = GENERATED_BY.replace("shared/events.py", "shared/events.py and services/intake/schemas.py")

CURL = """curl --fail-with-body -sS https://intake.cchc.example.vn/v1/events \\
  -H "Authorization: Bearer $CCHC_TOKEN" \\
  -H "Content-Type: application/json" \\
  --data-binary @events.json"""


def _problem(description: str, example_error: str, example_reason: str, retry: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"},
                                         "example": {"error": example_error, "reason": example_reason}}},
    }
    if retry:
        response["headers"] = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}
    return response


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of POST /v1/events."""
    limits = defaults()["intake"]
    components = translate(EventResultSchema, AnswerSchema, ProblemSchema, UnavailableSchema,
                           names={AnswerSchema: "Answer", EventResultSchema: "EventResult",
                                  ProblemSchema: "Problem", UnavailableSchema: "Unavailable"})
    envelopes = [{"$ref": f"{event_type}{SCHEMA_SUFFIX}"} for event_type in sorted(CATALOGUE)]
    components["Event"] = {"oneOf": envelopes, "description": "One event envelope, exactly as on the bus; its JSON "
                           "Schema is the file named for its event_type beside this document."}
    sample = [example("dossier.received"), example("dossier.resolved")]
    accepted = {"accepted": 2, "refused": 0, "not_taken": 0, "results": [
        {"index": 0, "event_id": sample[0]["event_id"], "status": "accepted"},
        {"index": 1, "event_id": sample[1]["event_id"], "status": "accepted"}]}
    mixed = {"accepted": 1, "refused": 1, "not_taken": 0, "results": [
        {"index": 0, "event_id": sample[0]["event_id"], "status": "accepted"},
        {"index": 1, "event_id": sample[1]["event_id"], "status": "refused", "field": "payload.resolved_at",
         "reason": "Must include a UTC offset (e.g. 2025-01-24T15:00:00+07:00)."}]}
    unavailable = {"error": "broker_unavailable", "reason": "cannot connect to RabbitMQ (ConnectionRefusedError)",
                   "accepted": 0, "refused": 0, "not_taken": 2, "results": [
                       {"index": i, "event_id": e["event_id"], "status": "not_taken",
                        "reason": "the broker is unavailable and did not take it; resend it later (the same "
                                  "event_id is harmless)"} for i, e in enumerate(sample)]}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "CCHC one-door events over HTTP (intake)",
            "version": "1",
            "description": (
                f"{GENERATED}\n\nFor one-door systems that do not speak AMQP (e.g. through the provincial integration "
                f"platform, LGSP): the same events as the AsyncAPI contract (`asyncapi.yaml`), posted in batches. "
                f"Each event is validated with the same schemas as the bus, published with publisher confirms to the "
                f"exchange `{ONEDOOR_EXCHANGE}`, and the answer — sent only after the broker confirmed — says for "
                "each event whether it was accepted, refused (field and reason: fix it, do not resend it as is) or "
                "not taken (the broker did not confirm it: resend it). Resending an accepted event is harmless: "
                "events are processed once per `event_id`.\n\n"
                f"Limits (configurable): a body of at most {limits['max_body_bytes']} bytes with a Content-Length "
                f"(no chunked bodies), at most {limits['max_events']} events, each at most as large as the bus "
                "accepts; a rate per vendor (429 with Retry-After beyond it).\n\n"
                f"Example:\n\n```\n{CURL}\n```"
            ),
        },
        "servers": [{"url": "https://intake.cchc.example.vn", "description": "the province's Ingress (example)"}],
        "security": [{"bearerToken": []}, {"clientCertificate": []}],
        "paths": {"/v1/events": {"post": {
            "operationId": "postEvents",
            "summary": "Post a batch of one-door events",
            "requestBody": {"required": True, "content": {
                "application/json": {
                    "schema": {"type": "array", "minItems": 1, "maxItems": limits["max_events"],
                               "items": {"$ref": "#/components/schemas/Event"}},
                    "example": sample},
                "application/x-ndjson": {
                    "schema": {"type": "string", "description": "One event envelope (JSON object) per line; a line "
                               "that is not JSON is refused alone."}},
            }},
            "responses": {
                "200": {"description": "Every event has a verdict; the accepted ones are confirmed by the broker.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Answer"},
                                                         "examples": {"accepted": {"value": accepted},
                                                                      "partly refused": {"value": mixed}}}}},
                "400": _problem("The body is not a JSON array (or NDJSON) of events: nothing was published.",
                                "bad_request", "the body is not valid UTF-8 JSON (Expecting value: line 1 column 1)"),
                "401": {**_problem("No valid token or client certificate.", "unauthorized",
                                   "a valid bearer token (Authorization: Bearer …) or a verified client certificate "
                                   "is required"),
                        "headers": {"WWW-Authenticate": {"schema": {"type": "string", "const": "Bearer"}}}},
                "411": _problem("The body has no Content-Length (chunked bodies are not accepted).", "bad_request",
                                "send the body with a Content-Length (chunked bodies are not accepted)"),
                "413": _problem("The body or the number of events is over the limit: split the batch.",
                                "bad_request", "6000 events in one request: at most 5000; split the batch"),
                "415": _problem("Not application/json nor application/x-ndjson.", "bad_request",
                                "Content-Type 'text/plain': send application/json (an array of envelopes) or "
                                "application/x-ndjson (one envelope per line)"),
                "429": _problem("The vendor is over its rate: retry after the time given.", "rate_limited",
                                "vendor vnpt-igate is over its rate of 2000 events a second; retry later", retry=True),
                "503": {"description": "The broker is unavailable, or confirmed only part of the batch: the results "
                                       "say which events were taken; resend the others after Retry-After.",
                        "headers": {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}},
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Unavailable"},
                                                         "example": unavailable}}},
            },
        }}},
        "components": {
            "schemas": dict(sorted(components.items())),
            "headers": {"RetryAfter": {"description": "Seconds to wait before retrying.",
                                       "schema": {"type": "integer", "minimum": 1}}},
            "securitySchemes": {
                "bearerToken": {"type": "http", "scheme": "bearer", "description": "A vendor token issued by the "
                                "province (`cchc intake tokens add VENDOR`): `cchc_<id>_<secret>`."},
                "clientCertificate": {"type": "mutualTLS", "description": "A client certificate the province's "
                                      "Ingress verifies (its subject registered with `cchc intake tokens add VENDOR "
                                      "--subject DN`)."},
            },
        },
    }


def render() -> str:
    return f"# {GENERATED}\n{to_yaml(document())}"


def write(out_dir: Path) -> Path:
    path = Path(out_dir) / OPENAPI_FILE
    path.write_text(render(), encoding="utf-8", newline="\n")
    return path


def is_current(out_dir: Path) -> bool:
    path = Path(out_dir) / OPENAPI_FILE
    return path.is_file() and path.read_text(encoding="utf-8") == render()
