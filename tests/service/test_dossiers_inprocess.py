import datetime as dt
import uuid

from cchc.runner import rpc_proxy, running
from services.dossiers.service import DossiersService
from shared.config import load_config
from shared.events import make_envelope
from shared.messaging import connect
from shared.publisher import KombuPublisher

TZ = dt.timezone(dt.timedelta(hours=7))


def test_smoke(tmp_path):
    config = load_config(DATABASE_URL=f"sqlite:///{tmp_path}/<service>.db")
    with running([DossiersService], config):
        pub = KombuPublisher(connect(config))
        t = dt.datetime(2025, 1, 24, 15, tzinfo=TZ)
        msgs = [make_envelope("dossier.received", {"dossier_code": "D1", "procedure_code": "1.000948.H44",
                                                   "unit_code": "07900", "received_at": t}, occurred_at=t)]
        pub.publish_many(msgs)
        import time
        deadline = time.monotonic() + 10
        with rpc_proxy(config) as rpc:
            while time.monotonic() < deadline:
                try:
                    print(rpc.dossiers.get_dossier("D1"))
                    break
                except Exception as e:
                    print(repr(e))
                    time.sleep(0.2)
            print(rpc.dossiers.period_stats("P25", "2025"))
