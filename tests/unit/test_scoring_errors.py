"""The scoring service's refusals reach callers typed through nameko's remote-error registry."""

from __future__ import annotations

import importlib

from nameko.exceptions import RemoteError, deserialize, get_module_path

from services.scoring import errors
from services.scoring.errors import RemoteScoringRefused


def test_each_registered_path_names_a_class_that_exists_there() -> None:
    for path in errors.REMOTE_REFUSED:
        module, _, name = path.rpartition(".")
        cls = getattr(importlib.import_module(module), name)
        assert issubclass(cls, ValueError) and get_module_path(cls) == path


def test_a_refused_submission_arrives_typed_with_its_field_and_vietnamese_reason() -> None:
    message = "scores[1].points: 0.3 không phải bội số của bước chấm 0.25 của tiêu chí 1.1.2"
    remote = deserialize({"exc_path": "services.scoring.scores.ScoreError", "exc_type": "ScoreError",
                          "value": message, "exc_args": [message]})
    assert isinstance(remote, RemoteScoringRefused) and isinstance(remote, RemoteError)
    assert isinstance(remote, ValueError)
    assert remote.exc_type == "ScoreError"  # callers matching names (the web's backends) see what they saw before
    assert (remote.field, remote.reason) == ("scores[1].points",
                                             "0.3 không phải bội số của bước chấm 0.25 của tiêu chí 1.1.2")
    conflict = deserialize({"exc_path": "services.scoring.submissions.SetConflict", "exc_type": "SetConflict",
                            "value": "version: taken", "exc_args": ["version: taken"]})
    assert isinstance(conflict, RemoteScoringRefused) and conflict.exc_type == "SetConflict"
