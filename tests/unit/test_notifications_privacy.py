"""Masking whatever shape personal data arrives in: names in any Unicode normalisation form, letter case or
spacing, and Vietnamese phone numbers written every way people write them (property tests with hypothesis),
then the log views of the outbox (listing, detail, last error) on SQLite."""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata

from hypothesis import assume, example, given
from hypothesis import strategies as st

from services.notifications import delivery, intake, samples
from services.notifications.channels import Outgoing, transient
from services.notifications.privacy import mask_phone, mask_recipient, redact
from services.notifications.settings import settings_from
from shared.calendar import WorkingCalendar
from shared.config import load_config
from shared.db import open_database

VIETNAMESE_LETTERS = ("aăâbcdđeêghiklmnoôơpqrstuưvxy"
                      "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ")
TEMPLATE = "Kính gửi Ông/Bà {name}, hồ sơ H44.100-260706-0001 ngày 2026-07-06 đã quá hạn, gọi {phone} để hỏi."
UNCHANGED = ("H44.100-260706-0001", "2026-07-06")

words = st.text(alphabet=VIETNAMESE_LETTERS, min_size=2, max_size=7).map(str.capitalize)
names = st.lists(words, min_size=2, max_size=4).map(" ".join)
forms = st.sampled_from(["NFC", "NFD", "NFKC", "NFKD"])


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


@st.composite
def written_name(draw, name: str) -> str:
    """The same name as another system may write it: another normalisation form, case, spacing."""
    form = draw(forms)
    case = draw(st.sampled_from([str, str.upper, str.title]))
    spaces = draw(st.lists(st.sampled_from([" ", "  ", "\u00a0"]), min_size=len(name.split()) - 1,
                           max_size=len(name.split()) - 1))
    parts = case(name).split()
    text = parts[0] + "".join(space + part for space, part in zip(spaces, parts[1:], strict=True))
    return unicodedata.normalize(form, text)


def assert_name_masked(written: str, listed: str, name: str) -> None:
    text = TEMPLATE.format(name=written, phone="")
    redacted = nfc(redact(text, [listed]))
    for word in name.split():
        assert word.casefold() not in redacted.casefold(), (text, redacted)
    assert all(value in redacted for value in UNCHANGED)


def test_a_decomposed_name_is_masked():
    name = "Nguyễn Thị Ánh"
    assert_name_masked(unicodedata.normalize("NFD", name), name, name)
    assert_name_masked(name, unicodedata.normalize("NFD", name), name)


@given(data=st.data(), name=names, listed_form=forms)
def test_a_name_is_masked_whatever_its_unicode_form_case_or_spacing(data, name, listed_form):
    assume(all(word.casefold() not in nfc(TEMPLATE).casefold() for word in name.split()))
    assert_name_masked(data.draw(written_name(name)), unicodedata.normalize(listed_form, name), name)


@st.composite
def phone_numbers(draw) -> tuple[str, str]:
    """(a Vietnamese mobile or landline number as written, its 9 or 10 subscriber digits)."""
    subscriber = draw(st.one_of(st.from_regex(r"[35789][0-9]{8}", fullmatch=True),  # mobile 09x xxx xxxx
                                st.from_regex(r"2[0-9]{9}", fullmatch=True)))  # landline 02xx xxx xxxx
    head = 3 if len(subscriber) == 9 else 4
    groups = [subscriber[:head], subscriber[head:head + 3], subscriber[head + 3:]]
    separator = draw(st.sampled_from(["", " ", ".", "-"]))
    shape = draw(st.sampled_from(["0", "+84", "+84 ", "84", "(0)", "(+84) "]))
    if shape == "(0)":  # (0912) 345678
        return f"(0{groups[0]}) {groups[1]}{groups[2]}", subscriber
    return shape + separator.join(groups), subscriber


@given(number=phone_numbers(), listed=phone_numbers())
@example(number=("0912-345-678", "912345678"), listed=("0912345678", "912345678"))
@example(number=("0300300000", "300300000"), listed=("0300000000", "300000000"))
@example(number=("0912.345.678", "912345678"), listed=("0912345678", "912345678"))
@example(number=("+84 912 345 678", "912345678"), listed=("0912345678", "912345678"))
@example(number=("(0912) 345678", "912345678"), listed=("0912345678", "912345678"))
def test_a_phone_number_is_masked_whatever_its_shape(number, listed):
    written, subscriber = number
    text = TEMPLATE.format(name="", phone=written)
    for personal in ([], [listed[0]], [written]):
        redacted = redact(text, personal)
        shown = re.sub(r"\D", "", redacted.replace(UNCHANGED[0], "").replace(UNCHANGED[1], ""))
        digits = re.sub(r"\D", "", written)
        # two first, three last at most; the middle never shows — unless the kept "03" + "000" of 0300300000
        # spell its middle "0300" by chance (Hypothesis found it)
        assert len(shown) <= 5 and (subscriber[2:-3] not in shown or shown == digits[:2] + digits[-3:]), (
            text, redacted)
        assert all(value in redacted for value in UNCHANGED)
    masked = mask_recipient("sms", written)
    assert masked == mask_phone(written) and len(re.sub(r"\D", "", masked)) == 5


def test_codes_dates_and_times_are_not_mistaken_for_phone_numbers():
    text = ("Hồ sơ H44.100-260706-0001, thủ tục 1.000894.H44, đơn vị 07900, nhận 2026-07-06T09:15:00+07:00, "
            "hẹn 13/07/2026, số 01/XL-07900, mã 000001")
    assert redact(text) == text


def test_log_views_mask_a_decomposed_name_and_a_phone_written_with_dashes(tmp_path):
    config = load_config(DATABASE_URL=f"sqlite:///{tmp_path}/<service>.db",
                         notifications={"lead_email_pattern": "", "allow_local_channels": True})
    settings = settings_from(config)
    db = open_database(config, "notifications")
    name = "Nguyễn Thị Ánh"
    payload = {**samples.LATE_DOSSIER, "dossier_code": "NFD-1",
               "applicant": {"name": unicodedata.normalize("NFD", name), "phone": "0912-345-678"}}
    now = dt.datetime(2026, 7, 14, 0, 30, tzinfo=dt.UTC)
    try:
        with db.transaction() as session:
            intake.on_dossier_late(session, payload, settings, WorkingCalendar(), now)

        class EchoingGateway:  # a gateway whose error echoes the number and name the way it normalised them
            def send(self, message: Outgoing) -> str:
                raise transient(f"rejected: thuê bao +84 912 345 678 ({name}) tạm khóa")

        delivery.deliver_due(db, {"sms": EchoingGateway()}, delivery.Policy.from_settings(settings),
                             lambda item: (), "test", lambda: now)
        with db.transaction() as session:
            [listed] = delivery.list_notifications(session, channel="sms")
            shown = delivery.detail(session, listed["id"])
    finally:
        db.engine.dispose()
    assert listed["recipient"] == "09*****678" and "rejected" in shown["last_error"]
    text = nfc(json.dumps([listed, shown], ensure_ascii=False))
    for leaked in ("Nguyễn", "Thị", "Ánh", "345", "912 345", "912345"):
        assert leaked not in text, leaked
