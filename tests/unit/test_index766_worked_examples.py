"""Every worked example of 766-INDEX.md §3 (published portal values, UBND tỉnh Phú Thọ, captured 2026-09-26),
reproduced to the cent from its published inputs. One test per case, named after it."""

from __future__ import annotations

from decimal import Decimal

from services.dossiers.index766.forms import Ratio
from services.dossiers.index766.groups import UnitIndex, compute

D = Decimal


def province(**ratios: Ratio) -> UnitIndex:
    return compute(ratios, is_root=True)


def child(**ratios: Ratio) -> UnitIndex:
    return compute(ratios, is_root=False)


def scores(index: UnitIndex, group: str) -> list[Decimal | None]:
    return [s.figures.score for s in index.group(group).indicators if s.indicator.max_points > 0]


# --- Tiến độ giải quyết --------------------------------------------------------------------------------------


def test_tien_do_so_tu_phap_h44_19_2026_08():
    index = child(PROGRESS_ON_TIME=Ratio(29, 32))
    figures = index.indicator("PROGRESS_ON_TIME").figures
    assert (figures.ratio, figures.score) == (D("90.63"), D("18.13"))  # 20 × 29/32 = 18.125, half up
    assert index.group("timeliness").score == D("18.13")


def test_tien_do_province_h44_2026_08():
    index = province(PROGRESS_ON_TIME=Ratio(144_625, 184_513))
    figures = index.indicator("PROGRESS_ON_TIME").figures
    assert (figures.ratio, figures.score) == (D("78.38"), D("15.68"))
    assert index.group("timeliness").score == D("15.68")


def test_tien_do_empty_unit_h44_01_2026_08():
    index = child(PROGRESS_ON_TIME=Ratio(0, 0))
    figures = index.indicator("PROGRESS_ON_TIME").figures
    assert (figures.ratio, figures.score) == (D("0.00"), D("0.00"))
    assert index.group("timeliness").score == D("0.00")


# --- Công khai, minh bạch ------------------------------------------------------------------------------------


def test_ckmb_province_2026_08_month_all():
    index = province(PUBLISH_ON_TIME=Ratio(0, 0), PUBLIC_UPDATE_ON_TIME=Ratio(0, 0),
                     PUBLIC_CONTENT_FULL=Ratio(87, 89), DOSSIER_SYNC=Ratio(138_744, 138_744))
    assert scores(index, "transparency") == [None, None, D("1.96"), D("6.00")]
    assert index.group("transparency").score == D("7.96")


def test_ckmb_province_year_2026_year_all():
    index = province(PUBLISH_ON_TIME=Ratio(0, 89), PUBLIC_UPDATE_ON_TIME=Ratio(0, 70),
                     PUBLIC_CONTENT_FULL=Ratio(87, 89), DOSSIER_SYNC=Ratio(475_053, 475_053))
    assert scores(index, "transparency") == [D("0.00"), D("0.00"), D("1.96"), D("6.00")]
    assert index.group("transparency").score == D("7.96")


def test_ckmb_vp_ubnd_h44_01_empty():
    # no dossiers: 1.4 is null and counts 0; the province's 1.3 is copied (transparency total 1.96)
    index = child(PUBLISH_ON_TIME=Ratio(0, 0), PUBLIC_UPDATE_ON_TIME=Ratio(0, 0), PUBLIC_CONTENT_FULL=Ratio(87, 89),
                  DOSSIER_SYNC=Ratio(0, 0))
    assert index.group("transparency").score == D("1.96")


# --- Dịch vụ công trực tuyến ---------------------------------------------------------------------------------


def dvctt(authority: int, partial: int, full: int, online_dossiers: int, services: int, online: int,
          total: int, *, root: bool = True) -> Decimal:
    ratios = {"ONLINE_PROCEDURES": Ratio(partial + full, authority),
              "ONLINE_SERVICES_USED": Ratio(online_dossiers, services), "ONLINE_CHANNEL": Ratio(online, total)}
    return compute(ratios, is_root=root).group("online_services").score


def test_dvctt_province_2026_08_month_all():
    assert dvctt(56, 31, 21, 406, 1_968, 150_956, 152_595) == D("8.83")  # 2 + 4 × 0.2063 + 6 = 8.825


def test_dvctt_province_q3_2026_quarter_all():
    assert dvctt(89, 31, 21, 449, 1_884, 435_258, 440_558) == D("8.41")  # 2 × 0.5843/0.8 + 0.953 + 6


def test_dvctt_province_year_2026_year_all():
    assert dvctt(89, 31, 21, 516, 1_884, 589_496, 597_894) == D("8.56")  # 1.461 + 1.096 + 6


def test_dvctt_tthc_2_000815_month_quarter_year_formality():
    assert dvctt(56, 31, 21, 1, 1, 43_136, 43_138) == D("12.00")
    assert dvctt(89, 31, 21, 1, 1, 120_684, 120_714) == D("11.46")
    assert dvctt(89, 31, 21, 1, 1, 165_096, 165_139) == D("11.46")


def test_dvctt_children_tthc_2_000815_communes_10_departments_0():
    # inferred: children get 0 on 3.1; a commune with the service used and online dossiers scores 4 + 6
    assert dvctt(56, 31, 21, 1, 1, 300, 300, root=False) == D("10.00")
    assert dvctt(56, 31, 21, 0, 0, 0, 0, root=False) == D("0.00")  # a department without the procedure


# --- Số hóa hồ sơ --------------------------------------------------------------------------------------------


def so_hoa(n: int, result: int, digitised: int, reused: int, store: int, citizen: int,
           formality: tuple[int, int], *, root: bool) -> UnitIndex:
    ratios = {
        "ORIGINAL_RESULT_AVAILABLE": Ratio(result, n), "SO_HOA_GIAY_TO_GIAI_QUYET": Ratio(digitised, n),
        "ELECTRONIC_CERTIFIED_COPY": Ratio(1, 1), "REUSED_DIGITIZED_DATA": Ratio(reused, n),
        "SYNCED_WITH_DVCQG_PERSONAL_STORAGE": Ratio(store, n), "CITIZEN_DATA_CONNECTED_DOSSIER": Ratio(citizen, n),
        "CITIZEN_DATA_CONNECTED_FORMALITY": Ratio(*formality),
    }
    return compute(ratios, is_root=root)


def test_so_hoa_province_2026_08_month_all():
    index = so_hoa(184_513, 133_274, 21_233, 3_160, 0, 85_644, (297, 1_301), root=True)
    assert scores(index, "digitisation") == [D("4.33"), D("0.46"), D("2.00"), D("0.04"), D("0.00"), D("0.93"),
                                             D("0.46")]
    assert index.group("digitisation").score == D("8.22")


def test_so_hoa_so_gd_dt_h44_08_2026_08():
    index = so_hoa(326, 291, 261, 0, 0, 326, (7, 39), root=False)
    assert index.indicator("SO_HOA_GIAY_TO_GIAI_QUYET").figures.score == D("3.20")  # 80.06 %: no 80 % cap
    assert scores(index, "digitisation") == [D("5.36"), D("3.20"), D("2.00"), D("0.00"), D("0.00"), D("2.00"),
                                             D("0.36")]
    assert index.group("digitisation").score == D("12.92")


def test_so_hoa_phuong_viet_tri_h44_100_2026_08():
    index = so_hoa(2_971, 2_469, 479, 35, 0, 1_137, (46, 385), root=False)
    assert index.indicator("REUSED_DIGITIZED_DATA").figures.score == D("0.03")  # 1.18 % / 80 %
    assert scores(index, "digitisation") == [D("4.99"), D("0.64"), D("2.00"), D("0.03"), D("0.00"), D("0.77"),
                                             D("0.24")]
    assert index.group("digitisation").score == D("8.67")


def test_so_hoa_vp_ubnd_h44_01_empty():
    # every dossier metric null (0/0), the e-certified-copy metric 2 → total 2.00
    index = so_hoa(0, 0, 0, 0, 0, 0, (0, 0), root=False)
    assert index.group("digitisation").score == D("2.00")


# --- Mức độ hài lòng -----------------------------------------------------------------------------------------


def hai_long(dossiers: tuple[int, int], on_time: tuple[int, int], satisfied: tuple[int, int],
             *, root: bool = False) -> UnitIndex:
    ratios = {"DOSSIER_RECEIVING_SATISFACTION": Ratio(*dossiers), "PETITION_PROCESSING_ON_TIME": Ratio(*on_time),
              "PETITION_HANDLING_SATISFACTION": Ratio(*satisfied)}
    return compute(ratios, is_root=root)


def test_hai_long_province_2026_08_handling_satisfaction():
    index = hai_long((144_574, 184_513), (182, 247), (137, 247), root=True)
    assert scores(index, "satisfaction") == [D("4.42"), D("3.33"), D("5.22")]
    assert index.group("satisfaction").score == D("12.97")


def test_hai_long_xa_xuan_lung_h44_105():
    index = hai_long((939, 1_038), (0, 0), (0, 0))
    assert scores(index, "satisfaction") == [D("6.00"), D("6.00"), D("6.00")]  # ≥ 90 %; no petition → 6
    assert index.group("satisfaction").score == D("18.00")


def test_hai_long_xa_lam_thao_h44_106():
    index = hai_long((1_660, 2_079), (2, 2), (0, 2))
    assert scores(index, "satisfaction") == [D("6.00"), D("0.00"), D("5.32")]
    assert index.group("satisfaction").score == D("11.32")


def test_hai_long_vp_ubnd_tinh_h44_01():
    index = hai_long((0, 0), (0, 0), (0, 0))
    assert scores(index, "satisfaction") == [D("6.00"), D("6.00"), D("0.00")]  # empty dossiers → 0
    assert index.group("satisfaction").score == D("12.00")


def test_hai_long_classification_is_monitoring_only():
    index = compute({"PETITION_CLASSIFICATION_TTHC": Ratio(179, 247), "PETITION_CLASSIFICATION_STAFF": Ratio(62, 247)},
                    is_root=True)
    tthc = index.indicator("PETITION_CLASSIFICATION_TTHC").figures
    assert (tthc.ratio, tthc.score) == (D("72.47"), None)
    assert index.indicator("PETITION_CLASSIFICATION_STAFF").figures.score is None


# --- Thanh toán trực tuyến -----------------------------------------------------------------------------------


def tttt(a: tuple[int, int], b: tuple[int, int], c: tuple[int, int], *, root: bool = False) -> Decimal:
    ratios = {"ONLINE_PAYMENT_DOSSIERS": Ratio(*a), "ONLINE_PAYMENT_FORMALITIES": Ratio(*b),
              "FEE_DATA_FORMALITIES": Ratio(*c)}
    return compute(ratios, is_root=root).group("online_payment").score


def test_tttt_province_2026_08_formality_online_payment_tree():
    assert tttt((82_913, 98_459), (93, 310), (56, 310), root=True) == D("6.25")  # 5.053 + 0.75 + 0.452


def test_tttt_so_cong_thuong_h44_07():
    assert tttt((44, 44), (7, 8), (0, 8)) == D("8.00")  # B capped at 2


def test_tttt_bql_kcn_h44_03():
    assert tttt((7, 7), (2, 3), (0, 3)) == D("7.67")


def test_tttt_phuong_viet_tri():
    assert tttt((1_516, 1_707), (12, 35), (7, 35)) == D("6.69")


def test_tttt_xa_thanh_ba_h44_117_and_hoang_cuong_h44_119():
    assert tttt((363, 506), (12, 35), (7, 35)) == D("5.66")
    assert tttt((790, 813), (14, 36), (8, 36)) == D("7.36")


def test_tttt_zero_denominators_score_zero():
    assert tttt((0, 0), (0, 0), (0, 0)) == D("0.00")


# --- Total ---------------------------------------------------------------------------------------------------


def test_total_province_2026_08():
    index = province(
        PUBLISH_ON_TIME=Ratio(0, 0), PUBLIC_UPDATE_ON_TIME=Ratio(0, 0), PUBLIC_CONTENT_FULL=Ratio(87, 89),
        DOSSIER_SYNC=Ratio(138_744, 138_744),
        PROGRESS_ON_TIME=Ratio(144_625, 184_513),
        ONLINE_PROCEDURES=Ratio(52, 56), ONLINE_SERVICES_USED=Ratio(406, 1_968), ONLINE_CHANNEL=Ratio(150_956, 152_595),
        ORIGINAL_RESULT_AVAILABLE=Ratio(133_274, 184_513), SO_HOA_GIAY_TO_GIAI_QUYET=Ratio(21_233, 184_513),
        ELECTRONIC_CERTIFIED_COPY=Ratio(1, 1), REUSED_DIGITIZED_DATA=Ratio(3_160, 184_513),
        SYNCED_WITH_DVCQG_PERSONAL_STORAGE=Ratio(0, 184_513), CITIZEN_DATA_CONNECTED_DOSSIER=Ratio(85_644, 184_513),
        CITIZEN_DATA_CONNECTED_FORMALITY=Ratio(297, 1_301),
        DOSSIER_RECEIVING_SATISFACTION=Ratio(144_574, 184_513), PETITION_PROCESSING_ON_TIME=Ratio(182, 247),
        PETITION_HANDLING_SATISFACTION=Ratio(137, 247),
        ONLINE_PAYMENT_DOSSIERS=Ratio(82_913, 98_459), ONLINE_PAYMENT_FORMALITIES=Ratio(93, 310),
        FEE_DATA_FORMALITIES=Ratio(56, 310),
    )
    assert [g.score for g in index.groups] == [D("7.96"), D("15.68"), D("8.83"), D("8.22"), D("12.97"), D("6.25")]
    assert index.total == D("59.91")
    assert index.points_lost == D("40.09")
