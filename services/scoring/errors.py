"""The scoring service's refusals as its callers receive them: typed through nameko's remote-error registry.

nameko turns an error raised in another service into a generic ``RemoteError`` unless the exception's dotted
path (``exc_path``) is registered (``nameko.exceptions.registry``, as nameko-examples' gateway does): the
registered class is raised instead. Importing this module makes every refusal of the scoring service — points
off the step, an unknown leaf, a submission outside the window (:class:`~services.scoring.scores.ScoreError`), a
criteria set that does not validate or would change a published version, a bad plan item — arrive as
:class:`RemoteScoringRefused`, which is a ``RemoteError`` (callers that caught that still do) and a
``ValueError`` carrying ``field`` and ``reason`` (the Vietnamese text the service wrote).

``services.scoring.recalc.NotFound`` is registered by services/reports/errors.py (one class per path in the
process-wide registry), so it is not registered again here.
"""

from __future__ import annotations

from typing import Any

from nameko.exceptions import RemoteError, registry

__all__ = ["REMOTE_REFUSED", "RemoteScoringRefused"]

REMOTE_REFUSED = (
    "services.scoring.scores.ScoreError",
    "services.scoring.submissions.SetConflict",
    "services.scoring.criteria.CriteriaSetError",
    "services.scoring.plan.PlanError",
)


class RemoteScoringRefused(RemoteError, ValueError):
    """The scoring service refused a request; ``field`` is what it named before the first ': '.

    ``exc_type`` stays the remote class's name (ScoreError, SetConflict, …): callers that still match names
    (the web's backends) see what they saw before this registry.
    """

    remote_type = "ScoreError"

    def __init__(self, *args: Any) -> None:
        value = args[0] if len(args) == 1 else ", ".join(map(str, args))
        RemoteError.__init__(self, self.remote_type, value)
        head, sep, tail = str(value).partition(": ")
        named = bool(sep) and " " not in head.strip() and len(head) < 80
        self.field = head.strip() if named else ""
        self.reason = tail.strip() if named else str(value)

    def __str__(self) -> str:
        return str(self.value)


for _path in REMOTE_REFUSED:
    _name = _path.rpartition(".")[2]
    registry[_path] = type(f"Remote{_name}", (RemoteScoringRefused,), {"remote_type": _name, "__module__": __name__})
