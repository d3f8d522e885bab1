"""Message texts from Jinja2 templates (Vietnamese), one per message kind and channel, in ``templates/``:

``<kind>.<channel>.txt`` for email (blocks ``subject`` and ``body``), SMS and webhook texts (block ``body``), and
``apology.letter.html`` for the printable / attached apology letter, which extends the shared Nghị định 30
layout (shared/templates/nd30_base.html) and is turned into a PDF by WeasyPrint.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.documents import ND30_CSS, environment_for, html_to_pdf, nfc

TEMPLATES_DIR = Path(__file__).with_name("templates")

_env = environment_for(TEMPLATES_DIR)
_env.trim_blocks = True
_env.lstrip_blocks = True


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def template_name(kind: str, channel: str) -> str:
    return f"{kind}.{channel}.html" if channel == "letter" else f"{kind}.{channel}.txt"


def available() -> list[tuple[str, str]]:
    """Every (kind, channel) with a template, for previews and checks."""
    pairs = []
    for path in sorted(TEMPLATES_DIR.iterdir()):
        parts = path.name.split(".")
        if len(parts) == 3 and parts[2] in ("txt", "html"):
            pairs.append((parts[0], parts[1]))
    return pairs


def render(kind: str, channel: str, context: Mapping[str, Any]) -> Rendered:
    template = _env.get_template(template_name(kind, channel))
    if channel == "letter":
        return Rendered(subject="", body=nfc(template.render(nd30_css=ND30_CSS, **context)))
    ctx = template.new_context(dict(context))
    subject = "".join(template.blocks["subject"](ctx)).strip() if "subject" in template.blocks else ""
    body = "".join(template.blocks["body"](ctx)).strip()
    return Rendered(subject=nfc(" ".join(subject.split())), body=nfc(body) + "\n")


def letter_pdf(context: Mapping[str, Any]) -> bytes:
    return html_to_pdf(render("apology", "letter", context).body)
