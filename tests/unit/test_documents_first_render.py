"""The first PDFs a fresh process renders at once all come out. WeasyPrint was imported on first use: under eventlet
every green thread runs on one OS thread, so the import lock let a second renderer in while the first was still
importing, and it met a half-imported module (``NameError: name 'Document' is not defined``) — the notifications
service's first apology letters after every start failed and were retried (found in ``cchc demo``)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import eventlet
    eventlet.monkey_patch()
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from shared import documents

    errors, pdfs = [], []

    def render(i):
        try:
            pdfs.append(documents.html_to_pdf(f"<p>Thư xin lỗi số {i}</p>")[:5].decode())
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    pool = eventlet.GreenPool()
    for i in range(4):
        pool.spawn(render, i)
    pool.waitall()
    print(json.dumps({"errors": errors, "pdfs": pdfs}))
""")


def test_four_green_threads_rendering_the_first_pdfs_of_a_process_at_once_all_get_one() -> None:
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", SCRIPT, str(ROOT)], capture_output=True, text=True,
                          timeout=120, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"errors": [], "pdfs": ["%PDF-"] * 4}, done.stderr[-2000:]
