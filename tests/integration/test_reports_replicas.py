"""Documents are kept where every replica reads them: two ``nameko run`` processes of the reports service share
one PostgreSQL schema, each in its own empty working directory (as two pods with nothing shared but the
database). A document built by one is downloaded from the other, over HTTP and over the ``document_file`` RPC,
and again after that replica restarted in a fresh empty directory; nothing is ever written to a working
directory."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from nameko.exceptions import RemoteError

from cchc.runner import rpc_proxy, running
from services.dossiers.service import DossiersService
from shared.config import load_config
from tests.faults.harness import ServiceProcess
from tests.support import PG_URL, free_port, http_get, pg_schema_prefix, rabbit_vhost, wait_until

pytestmark = pytest.mark.integration


class ReportsProcess(ServiceProcess):
    """``python -m nameko run services.reports.service`` in ``workdir`` (created empty), on a free port; stopping,
    readiness and logs as the fault harness's processes."""

    def __init__(self, workdir: Path, logs: Path, settings: dict[str, Any]) -> None:
        workdir.mkdir(parents=True)
        self.index = workdir.name
        self.port = free_port()
        config_path = logs / f"{workdir.name}.yaml"
        config_path.write_text(yaml.safe_dump(dict(settings, WEB_SERVER_ADDRESS=f"127.0.0.1:{self.port}")))
        self.log_path = logs / f"{workdir.name}.log"
        self.log_file = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AMQP_", "DATABASE_", "REPORTS_"))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nameko", "run", "--config", str(config_path),
             "services.reports.service:ReportsService"],
            cwd=workdir, env=dict(env, PYTHONUNBUFFERED="1"), stdout=self.log_file, stderr=subprocess.STDOUT)
        wait_until(self.ready, timeout=90, interval=0.2, message=f"/ready of the reports process in {workdir.name}")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


get = http_get


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_a_document_built_by_one_replica_is_served_by_another_and_after_a_restart(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    with rabbit_vhost() as amqp_uri, pg_schema_prefix() as schema:
        settings = {"AMQP_URI": amqp_uri, "DATABASE_URL": PG_URL, "DATABASE_SCHEMA": schema, "HEARTBEAT": 10}
        config = load_config(**settings)
        processes: list[ReportsProcess] = []
        try:
            with running([DossiersService], config), rpc_proxy(config, timeout=120) as rpc:
                first = ReportsProcess(tmp_path / "replica-a", logs, settings)
                processes.append(first)
                result = rpc.reports.build_statistics("H44.07", "2026", ["docx", "xlsx"])  # only replica a runs
                assert result["built"] and [f["format"] for f in result["files"]] == ["docx", "xlsx"]
                xlsx = result["files"][1]

                second = ReportsProcess(tmp_path / "replica-b", logs, settings)
                processes.append(second)
                first.stop()  # from now on every request reaches replica b

                status, body = get(second.url(xlsx["url"]))  # the link in the answer (it expires)
                assert status == 200, body[:300]
                assert hashlib.sha256(body).hexdigest() == xlsx["sha256"] and len(body) == xlsx["size"]
                status, by_header = get(second.url(f"/documents/{xlsx['id']}"),
                                        {"Authorization": f"Bearer {xlsx['token']}"})
                assert status == 200 and by_header == body

                answer = rpc.reports.document_file(xlsx["id"])  # replica b answers: a is stopped
                assert answer == {"filename": xlsx["filename"], "sha256": xlsx["sha256"], "size": xlsx["size"],
                                  "content_b64": base64.b64encode(body).decode("ascii"),
                                  "media_type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
                for unknown in (xlsx["id"] + 1000, 0, -1, 10**20):
                    with pytest.raises(RemoteError) as error:
                        rpc.reports.document_file(unknown)
                    assert error.value.exc_type == "NotFound", error.value

                second.stop()  # the same replica after a restart: a new pod, a new empty directory
                third = ReportsProcess(tmp_path / "replica-b-restarted", logs, settings)
                processes.append(third)
                status, again = get(third.url(f"/documents/{xlsx['id']}"),
                                    {"Authorization": f"Bearer {xlsx['token']}"})
                assert status == 200 and again == body
                listed = {f["id"]: f for f in rpc.reports.documents(kind="statistics")}
                assert listed[xlsx["id"]]["sha256"] == xlsx["sha256"]
                assert base64.b64decode(rpc.reports.document_file(result["files"][0]["id"])["content_b64"])[:2] == b"PK"
        finally:
            for process in processes:
                process.stop()
    for workdir in ("replica-a", "replica-b", "replica-b-restarted"):
        assert files_under(tmp_path / workdir) == [], f"{workdir}: a replica wrote to its working directory"
