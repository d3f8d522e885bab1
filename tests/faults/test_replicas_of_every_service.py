"""Three replicas of every service (dossiers, scoring, notifications) as separate ``nameko run`` processes on the
real RabbitMQ and PostgreSQL: a generated stream (duplicates, shuffled) is replayed with every process's clock
pinned to the instant the stream was generated for (``pinned_now``: an early morning, a lunch break, a weekend…),
and at the end

* the dossiers' per-unit states equal the generator's truth;
* scoring's metric_values hold rows for exactly the (unit, year) pairs with dossiers — a figure with nothing to
  measure (null) leaves none — and its on_time_rate equals the rate computed from the dossiers table, absent
  where nothing was finished (both schemas queried directly);
* scoring's ranking of a published commune criteria set, left by three replicas recalculating as timeliness
  figures arrive, equals a full recalculation from the final inputs;
* the dossiers announced late are exactly those the generator's truth says are open, not waiting for a
  supplement and past their due date at that instant — neither more nor fewer, whatever the time of day;
* notifications hold exactly one apology per dossier announced late (late_notified_at set), none duplicated
  despite three replicas and duplicated events.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal

import eventlet
import pytest
import yaml
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy.orm import Session

from cchc.demo_scoring import demo_copy, plausible_scores
from cchc.traffic import TrafficSpec, generate
from services.dossiers.rules import rules_from_config
from services.scoring.reads import ranking
from services.scoring.submissions import recalculate_set
from shared.calendar import LOCAL_TZ
from shared.clock import utcnow
from shared.config import load_config
from shared.db import make_engine
from shared.rounding import percent
from tests.faults.harness import (
    REPO,
    Db,
    Publishing,
    ServiceProcess,
    account,
    assert_exact,
    stack,
    wait_committed,
)
from tests.support import PG_URL, free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.faults]

REPLICAS = 3  # processes per service, all consuming at once
PATHS = {
    "dossiers": "services.dossiers.service:DossiersService",
    "scoring": "services.scoring.service:ScoringService",
    "notifications": "services.notifications.service:NotificationsService",
}
METRICS = ("on_time_rate", "progress_766_rate", "online_share")


class Replica(ServiceProcess):
    """A ``nameko run`` of any of the three services (ServiceProcess runs the dossiers service only)."""

    def __init__(self, s, service: str, index: int, extra: dict) -> None:
        self.port = free_port()
        self.index = index
        self.service = service
        self.log_path = s.workdir / f"{service}-{index}.log"
        config = dict(s.settings, WEB_SERVER_ADDRESS=f"127.0.0.1:{self.port}", **extra)
        config_path = s.workdir / f"{service}-{index}.yaml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
        self.log_file = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AMQP_", "DATABASE_", "INGEST_"))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nameko", "run", "--config", str(config_path), PATHS[service]],
            cwd=REPO, env=dict(env, PYTHONUNBUFFERED="1"), stdout=self.log_file, stderr=subprocess.STDOUT,
        )

    def check_alive(self) -> None:
        if not self.alive():
            raise AssertionError(f"{self.service} process {self.index} exited with {self.process.returncode}:\n"
                                 f"{self.tail()}")


@pytest.mark.pinned_times("lunch-break")  # CI's default; `--pinned-times all` runs every one
def test_three_replicas_of_every_service(tmp_path, pinned_now):
    now = pinned_now
    began = time.monotonic()
    rules = rules_from_config(load_config())
    spec = TrafficSpec(start=now.date() - dt.timedelta(days=75), end=now.date(), now=now, dossiers=800, seed=11)
    traffic = generate(spec, rules.units, rules.catalogue, rules.calendar)
    owed = traffic.open_past_due(rules.granularity.value)
    assert owed, f"the stream for {now} holds no open overdue dossier: pin another instant (tests/support.py)"
    mail, letters = tmp_path / "mail", tmp_path / "letters"
    notify = {"notifications": {
        "allow_local_channels": True,  # e-mail into a folder and SMS to the console, read back by this test
        "delivery_interval_seconds": 0.3, "digest_interval_seconds": 3600, "schedule_interval_seconds": 3600,
        "units_refresh_seconds": 3600, "email": {"transport": "folder", "folder": str(mail)},
        "sms": {"transport": "console"}, "letters": {"folder": str(letters)},
    }}
    # The replay is a backfill (events up to 75 days old): the replicas' timers keep scanning every 0.5 s but hold
    # every announcement for as long as the backfill guard says (longer than the test), so what is announced never
    # depends on how fast this machine happens to be; the test then runs the scans itself, concurrently, once every
    # event is committed (as `cchc demo` does after its replay). A 2-second quiet window made a stall under load
    # look like the end of the replay and announced dossiers whose closing events were still unread.
    timers = {"timeliness": {"scan_interval_seconds": 0.5, "stats_publish_interval_seconds": 0.5,
                             "backfill_quiet_seconds": 3600},
              "outbox": {"relay_interval_seconds": 0.3}}

    with stack(tmp_path, now=now) as s:  # every process, this one included, reads the pinned clock
        s.settings.update(timers)
        replicas: dict[str, list[Replica]] = {}
        for service in PATHS:  # dossiers first: notifications copy its unit registry at start-up
            first = Replica(s, service, 0, notify if service == "notifications" else {})
            s.processes.append(first)  # stopped by the stack on the way out
            wait_until(first.ready, timeout=60, interval=0.1, message=f"/ready of {service} 0 (migrations)")
            others = [Replica(s, service, index, notify if service == "notifications" else {})
                      for index in range(1, REPLICAS)]
            s.processes.extend(others)
            replicas[service] = [first, *others]
        for p in s.processes:
            wait_until(p.ready, timeout=60, interval=0.1, message=f"/ready of {p.service} {p.index}")
        started = time.monotonic() - began

        db = Db(s.schema)
        dossiers, scoring = s.schema, s.schema_template.replace("<service>", "scoring")
        notifications = s.schema_template.replace("<service>", "notifications")
        # a published commune criteria set, every commune's final self-assessment: the replay's timeliness
        # figures then recalculate its computed criteria and the ranking on all three scoring replicas at once
        rng = random.Random(11)
        with ClusterRpcProxy({"AMQP_URI": s.amqp_uri}, timeout=60) as rpc:
            rpc.scoring.sync_units()
            path, criteria = demo_copy("commune-2026.yaml", now, tmp_path)
            rpc.scoring.publish_criteria_set(str(path))
            communes = [u["code"] for u in rpc.dossiers.units() if u["kind"] == criteria.unit_kind
                        and not u["valid_to"]]
            for code in communes:
                rpc.scoring.submit_scores(criteria.id, code, plausible_scores(criteria, code, rng), "test", True)
        publishing = Publishing(s.amqp_uri)
        publishing.run(traffic.messages)

        # (1) every distinct event committed, the ingest queue drained
        wait_committed(s, db, traffic, timeout=60)
        outcome = account(s, traffic, [], publishing.sent, db, "three replicas of every service",
                          time.monotonic() - began, "")
        assert_exact(outcome, traffic, [], exact_dead_letters=True)

        # (2) the timers held every announcement during the backfill; then forced scans from several callers at
        # once (RPCs spread over the three replicas: each dossier is claimed by exactly one), after which the outbox
        # and stats marks drain and no overdue dossier is left unannounced
        assert db.query(f'SELECT count(*) FROM "{dossiers}".dossiers WHERE late_notified_at IS NOT NULL')[0][0] == 0

        def forced_scan(_: int) -> int:
            with ClusterRpcProxy({"AMQP_URI": s.amqp_uri}, timeout=60) as rpc:
                return int(rpc.dossiers.scan_deadlines(force=True).get("late", 0))

        announced_by_scans = sum(eventlet.GreenPool(REPLICAS).imap(forced_scan, range(REPLICAS * 2)))
        today = utcnow().astimezone(LOCAL_TZ).date()

        def dossiers_settled() -> bool:
            s.check_alive()
            unannounced = db.query(
                f'SELECT count(*) FROM "{dossiers}".dossiers WHERE closing IS NULL AND unit_code IS NOT NULL '
                f"AND NOT paused AND due_at IS NOT NULL AND due_date < '{today}' AND late_notified_at IS NULL")[0][0]
            outbox = db.query(f'SELECT count(*) FROM "{dossiers}".outbox')[0][0]
            dirty = db.query(f'SELECT count(*) FROM "{dossiers}".stats_dirty')[0][0]
            return unannounced == 0 and outbox == 0 and dirty == 0

        wait_until(dossiers_settled, timeout=30, interval=0.2, message="dossiers outbox, stats marks, scan settled")
        late = {code: applicant for code, applicant in db.query(
            f'SELECT dossier_code, applicant FROM "{dossiers}".dossiers WHERE late_notified_at IS NOT NULL')}
        assert announced_by_scans == len(late)
        assert set(late) == owed, (f"announced late but not owed: {sorted(set(late) - owed)}; "
                                   f"owed but not announced: {sorted(owed - set(late))}")
        # no false apology: every dossier announced late is still open now
        closed_but_announced = db.query(
            f'SELECT count(*) FROM "{dossiers}".dossiers WHERE late_notified_at IS NOT NULL AND closing IS NOT NULL')
        assert closed_but_announced[0][0] == 0

        # (3) notifications: one apology per late dossier stored, nothing pending or being sent
        def notifications_settled() -> bool:
            s.check_alive()
            try:
                codes, busy = db.query(
                    f"SELECT count(DISTINCT dossier_code) FILTER (WHERE kind = 'apology'), "
                    f"count(*) FILTER (WHERE status IN ('pending', 'sending')) "
                    f'FROM "{notifications}".notifications')[0]
            except Exception:
                return False
            return codes == len(late) and busy == 0

        wait_until(notifications_settled, timeout=40, interval=0.2, message=f"{len(late)} apologies delivered")

        # scoring: metric rows per (unit, year, metric) and on_time_rate recomputed from the dossiers table
        def scoring_rows() -> dict[tuple[str, int, str], Decimal]:
            return {(u, y, m): v for u, y, m, v in db.query(
                f'SELECT unit_code, year, metric, value FROM "{scoring}".metric_values')}

        own = db.query(
            f"SELECT unit_code, y FROM (SELECT unit_code, extract(year FROM received_date)::int AS y "
            f'FROM "{dossiers}".dossiers UNION SELECT unit_code, extract(year FROM closed_date)::int '
            f'FROM "{dossiers}".dossiers WHERE closed_date IS NOT NULL) t WHERE unit_code IS NOT NULL')
        expected_keys: dict[tuple[str, int], None] = {}
        for unit, year in own:
            if unit in rules.units:  # unknown units are published by no one
                for code in [unit, *rules.units.ancestors(unit)]:
                    expected_keys[(code, year)] = None

        def rate(code: str, year: int) -> Decimal | None:
            members = rules.units.descendants(code) if code in rules.units else [code]
            start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
            quoted = ",".join("'" + m.replace("'", "''") + "'" for m in members)
            counts = Counter(dict(db.query(
                f'SELECT outcome, count(*) FROM "{dossiers}".dossiers WHERE unit_code IN ({quoted}) '
                f"AND closing = 'finished' AND closed_date BETWEEN '{start}' AND '{end}' "
                f"AND received_date <= '{end}' GROUP BY outcome")))
            finished = sum(counts.values())  # nothing finished: no rate (null in timeliness_updated), not 0%
            return percent(counts["early"] + counts["on_time"], finished) if finished else None

        def scoring_settled() -> bool:
            s.check_alive()
            rows = scoring_rows()
            heard = {(u, y) for u, y, _ in rows}  # a null figure (nothing to measure) leaves no row
            return heard == set(expected_keys) and all(
                rows.get((u, y, "on_time_rate")) == rate(u, y) for u, y in expected_keys)

        wait_until(scoring_settled, timeout=90, interval=0.5, message="scoring metric_values for every unit")
        rows = scoring_rows()
        assert {(u, y) for u, y, _ in rows} == set(expected_keys)
        assert {m for _, _, m in rows} <= set(METRICS)
        wrong = [(u, y, rows.get((u, y, "on_time_rate")), rate(u, y)) for u, y in expected_keys
                 if rows.get((u, y, "on_time_rate")) != rate(u, y)]
        assert not wrong, wrong[:10]

        # scoring: the ranking left by the replicas' incremental recalculations equals a full recalculation from
        # the final inputs (computed here in a transaction that is rolled back, so it changes nothing)
        engine = make_engine(PG_URL, schema=scoring)

        def stored_and_fresh() -> tuple[list, list]:
            with engine.connect() as conn:
                transaction = conn.begin()
                try:
                    session = Session(bind=conn)
                    stored = ranking(session, criteria.id)["table"]  # ranked from the stored results if behind
                    fresh = recalculate_set(session, criteria.id, utcnow())["table"]
                finally:
                    transaction.rollback()
            return stored, fresh

        try:
            wait_until(lambda: (lambda pair: pair[0] == pair[1])(stored_and_fresh()), timeout=60, interval=0.5,
                       message="the stored ranking to equal a full recalculation")
            stored, fresh = stored_and_fresh()
        finally:
            engine.dispose()
        assert stored == fresh
        assert {row["unit_code"] for row in stored} == set(communes)
        assert sorted(row["rank"] for row in stored if not row["excluded"])[0] == 1

        # notifications: exactly one apology per late dossier and channel/recipient, never duplicated
        apologies = db.query(
            f'SELECT dossier_code, channel, recipient, status FROM "{notifications}".notifications '
            f"WHERE kind = 'apology'")
        per_dossier = Counter(code for code, *_ in apologies)
        assert set(per_dossier) == set(late)
        assert all(n == 1 for n in per_dossier.values()), [c for c, n in per_dossier.items() if n > 1][:10]
        assert len(apologies) == len({(c, ch, r) for c, ch, r, _ in apologies})
        assert {st for *_, st in apologies} == {"sent"}, Counter(st for *_, st in apologies)
        with_contact = {c for c, a in late.items() if a and (a.get("email") or a.get("phone"))}
        electronic = Counter(ch for c, ch, _, _ in apologies if c in with_contact)
        assert all(ch == "letter" for c, ch, _, _ in apologies if c not in with_contact)
        elapsed = time.monotonic() - began
        print(f"\nreplicas x{REPLICAS} of every service: ranking of {len(stored)} communes equal to a full "
              f"recalculation; {traffic.dossiers} dossiers, {publishing.sent} sent, "
              f"{outcome.processed} events committed, {len(late)} late -> {len(apologies)} apologies "
              f"({len(with_contact)} with contact: {dict(electronic)}), {len(expected_keys)} unit-years x "
              f"{len(METRICS)} metrics in scoring, started in {started:.1f}s, {elapsed:.1f}s in all", flush=True)
