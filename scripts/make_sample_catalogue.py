# ruff: noqa: E501 - the field tables below read best one field per line
"""Write the sample province catalogue (≈1,500 procedures) as CSV and XLSX, and its malformed twin for the tests.

Run: .venv/bin/python scripts/make_sample_catalogue.py   (deterministic: the same files every time)

The files follow the shape of a CSDLQG về TTHC export / an announcement decision's annex: STT, Mã thủ tục, Tên thủ
tục, Lĩnh vực, Cấp thực hiện, Cơ quan thực hiện, Thời hạn giải quyết, Phí, lệ phí. The 41 procedures of the
packaged catalogue (services/dossiers/data/procedures.csv) come first with their real codes and times, written as
the national database writes them; the rest are built from each field's usual procedure names, so names, fields,
agencies and the spread of time texts (working days, calendar days, hours, same day, no limit, reduced times,
per-channel times) look like a real province's ~1,500; their codes are made up in the national forms.

Outputs:
- services/dossiers/data/catalogue/phu_tho_tthc_sample.csv and .xlsx — valid, the demo's and tests' catalogue;
- tests/data/catalogue_malformed.csv and .xlsx — the same rows with a few deliberately broken ones, and
  tests/data/catalogue_malformed.expected.json naming the rows an import must report.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.dossiers.catalogue import Catalogue  # noqa: E402

SAMPLE_DIR = ROOT / "services" / "dossiers" / "data" / "catalogue"
TEST_DIR = ROOT / "tests" / "data"
SEED = 25_2026
TARGET = 1500
HEADER = ["STT", "Mã thủ tục", "Tên thủ tục", "Lĩnh vực", "Cấp thực hiện", "Cơ quan thực hiện",
          "Thời hạn giải quyết", "Phí, lệ phí"]
TITLE = "DANH MỤC THỦ TỤC HÀNH CHÍNH THUỘC THẨM QUYỀN GIẢI QUYẾT CỦA CÁC CƠ QUAN TỈNH PHÚ THỌ (mẫu)"

COMMUNE_AGENCY = "Ủy ban nhân dân cấp xã"
# Field → (agency at province level, objects its procedures are about).
PROVINCE_FIELDS: dict[str, tuple[str, list[str]]] = {
    "Công chứng": ("Sở Tư pháp", ["văn phòng công chứng", "công chứng viên", "hợp đồng chuyển nhượng văn phòng công chứng"]),
    "Luật sư": ("Sở Tư pháp", ["tổ chức hành nghề luật sư", "chi nhánh của tổ chức hành nghề luật sư", "luật sư hành nghề với tư cách cá nhân"]),
    "Giám định tư pháp": ("Sở Tư pháp", ["giám định viên tư pháp", "văn phòng giám định tư pháp"]),
    "Lý lịch tư pháp": ("Sở Tư pháp", ["Phiếu lý lịch tư pháp cho công dân Việt Nam", "Phiếu lý lịch tư pháp cho người nước ngoài"]),
    "Quốc tịch": ("Sở Tư pháp", ["nhập quốc tịch Việt Nam", "trở lại quốc tịch Việt Nam", "thôi quốc tịch Việt Nam"]),
    "Đấu giá tài sản": ("Sở Tư pháp", ["doanh nghiệp đấu giá tài sản", "đấu giá viên"]),
    "Trợ giúp pháp lý": ("Sở Tư pháp", ["tổ chức tham gia trợ giúp pháp lý", "trợ giúp viên pháp lý"]),
    "Điện": ("Sở Công Thương", ["hoạt động điện lực trong lĩnh vực phân phối điện", "hoạt động tư vấn chuyên ngành điện", "hoạt động phát điện"]),
    "Hóa chất": ("Sở Công Thương", ["sản xuất, kinh doanh hóa chất sản xuất, kinh doanh có điều kiện", "kế hoạch phòng ngừa, ứng phó sự cố hóa chất"]),
    "An toàn thực phẩm": ("Sở Công Thương", ["cơ sở sản xuất thực phẩm", "cơ sở kinh doanh thực phẩm", "kiến thức an toàn thực phẩm"]),
    "Lưu thông hàng hóa trong nước": ("Sở Công Thương", ["bán buôn sản phẩm thuốc lá", "bán lẻ sản phẩm rượu", "mua bán nguyên liệu thuốc lá"]),
    "Kinh doanh khí": ("Sở Công Thương", ["cửa hàng bán lẻ LPG chai", "trạm nạp LPG vào chai", "thương nhân kinh doanh mua bán LNG"]),
    "Xăng dầu": ("Sở Công Thương", ["cửa hàng bán lẻ xăng dầu", "thương nhân phân phối xăng dầu"]),
    "Vật liệu nổ công nghiệp": ("Sở Công Thương", ["sử dụng vật liệu nổ công nghiệp", "kho vật liệu nổ công nghiệp"]),
    "Xúc tiến thương mại": ("Sở Công Thương", ["chương trình khuyến mại", "hội chợ, triển lãm thương mại", "văn phòng đại diện của thương nhân nước ngoài"]),
    "Giáo dục và Đào tạo": ("Sở Giáo dục và Đào tạo", ["trường trung học phổ thông", "trung tâm ngoại ngữ, tin học", "hoạt động giáo dục kỹ năng sống", "dạy thêm, học thêm", "trường trung học phổ thông tư thục"]),
    "Văn bằng, chứng chỉ": ("Sở Giáo dục và Đào tạo", ["bản sao văn bằng, chứng chỉ từ sổ gốc", "văn bằng, chứng chỉ do cơ sở giáo dục nước ngoài cấp"]),
    "Khám bệnh, chữa bệnh": ("Sở Y tế", ["phòng khám đa khoa", "phòng khám chuyên khoa", "giấy phép hành nghề khám bệnh, chữa bệnh", "cơ sở dịch vụ y tế", "phòng chẩn trị y học cổ truyền"]),
    "Dược phẩm": ("Sở Y tế", ["chứng chỉ hành nghề dược", "cơ sở bán lẻ thuốc", "quầy thuốc", "nhà thuốc", "thông tin thuốc", "hội thảo giới thiệu thuốc"]),
    "Trang thiết bị y tế": ("Sở Y tế", ["cơ sở mua bán trang thiết bị y tế", "sản xuất trang thiết bị y tế"]),
    "Y tế dự phòng": ("Sở Y tế", ["cơ sở tiêm chủng", "cơ sở xét nghiệm", "nhà xưởng chế biến thực phẩm chức năng"]),
    "Hoạt động xây dựng": ("Sở Xây dựng", ["chứng chỉ hành nghề hoạt động xây dựng", "chứng chỉ năng lực hoạt động xây dựng", "giấy phép xây dựng công trình cấp I, II", "thiết kế xây dựng triển khai sau thiết kế cơ sở"]),
    "Nhà ở": ("Sở Xây dựng", ["nhà ở xã hội", "công nhận chủ đầu tư dự án nhà ở", "bán nhà ở cũ thuộc sở hữu nhà nước"]),
    "Kinh doanh bất động sản": ("Sở Xây dựng", ["chuyển nhượng dự án bất động sản", "sàn giao dịch bất động sản"]),
    "Quy hoạch xây dựng, kiến trúc": ("Sở Xây dựng", ["quy hoạch chi tiết xây dựng", "chứng chỉ hành nghề kiến trúc"]),
    "Đường bộ": ("Sở Xây dựng", ["giấy phép lái xe", "giấy phép liên vận", "phù hiệu xe ô tô", "kết nối vào quốc lộ", "giấy phép thi công công trình đường bộ", "đào tạo lái xe"]),
    "Đường thủy nội địa": ("Sở Xây dựng", ["bến thủy nội địa", "phương tiện thủy nội địa", "cảng thủy nội địa"]),
    "Đất đai": ("Sở Nông nghiệp và Môi trường", ["giao đất, cho thuê đất", "chuyển mục đích sử dụng đất", "gia hạn sử dụng đất", "giá đất cụ thể", "thu hồi đất"]),
    "Môi trường": ("Sở Nông nghiệp và Môi trường", ["giấy phép môi trường", "báo cáo đánh giá tác động môi trường", "phương án cải tạo, phục hồi môi trường", "chất thải nguy hại"]),
    "Tài nguyên nước": ("Sở Nông nghiệp và Môi trường", ["giấy phép thăm dò nước dưới đất", "giấy phép khai thác nước mặt", "giấy phép xả nước thải vào nguồn nước", "giấy phép hành nghề khoan nước dưới đất"]),
    "Khoáng sản": ("Sở Nông nghiệp và Môi trường", ["giấy phép thăm dò khoáng sản", "giấy phép khai thác khoáng sản", "đóng cửa mỏ khoáng sản"]),
    "Trồng trọt": ("Sở Nông nghiệp và Môi trường", ["giống cây trồng", "phân bón", "mã số vùng trồng"]),
    "Chăn nuôi": ("Sở Nông nghiệp và Môi trường", ["cơ sở chăn nuôi trang trại quy mô lớn", "thức ăn chăn nuôi"]),
    "Thú y": ("Sở Nông nghiệp và Môi trường", ["chứng chỉ hành nghề thú y", "cơ sở an toàn dịch bệnh động vật", "vận chuyển động vật ra khỏi địa bàn"]),
    "Bảo vệ thực vật": ("Sở Nông nghiệp và Môi trường", ["buôn bán thuốc bảo vệ thực vật", "quảng cáo thuốc bảo vệ thực vật"]),
    "Lâm nghiệp": ("Sở Nông nghiệp và Môi trường", ["phương án quản lý rừng bền vững", "chuyển mục đích sử dụng rừng", "khai thác lâm sản"]),
    "Thủy sản": ("Sở Nông nghiệp và Môi trường", ["cơ sở nuôi trồng thủy sản", "giống thủy sản"]),
    "Thủy lợi": ("Sở Nông nghiệp và Môi trường", ["hoạt động trong phạm vi bảo vệ công trình thủy lợi", "phương án bảo vệ đập, hồ chứa nước"]),
    "Đo đạc và bản đồ": ("Sở Nông nghiệp và Môi trường", ["hoạt động đo đạc và bản đồ", "thông tin, dữ liệu đo đạc và bản đồ"]),
    "Thành lập và hoạt động doanh nghiệp": ("Sở Tài chính", ["doanh nghiệp tư nhân", "công ty trách nhiệm hữu hạn hai thành viên trở lên", "công ty cổ phần", "chi nhánh, văn phòng đại diện", "địa điểm kinh doanh", "doanh nghiệp xã hội"]),
    "Đầu tư tại Việt Nam": ("Sở Tài chính", ["dự án đầu tư", "chủ trương đầu tư", "giấy chứng nhận đăng ký đầu tư"]),
    "Thành lập và hoạt động của hợp tác xã": ("Sở Tài chính", ["hợp tác xã", "liên hiệp hợp tác xã", "chi nhánh của hợp tác xã"]),
    "Quản lý công sản": ("Sở Tài chính", ["tài sản công", "xử lý tài sản công"]),
    "Công chức, viên chức": ("Sở Nội vụ", ["thi tuyển công chức", "xét tuyển viên chức", "nâng ngạch công chức"]),
    "Tổ chức hành chính, tổ chức sự nghiệp": ("Sở Nội vụ", ["đơn vị sự nghiệp công lập", "tổ chức phối hợp liên ngành"]),
    "Tổ chức phi chính phủ": ("Sở Nội vụ", ["quỹ xã hội, quỹ từ thiện", "hội có phạm vi hoạt động trong tỉnh"]),
    "Thi đua, khen thưởng": ("Sở Nội vụ", ["bằng khen của Chủ tịch Ủy ban nhân dân tỉnh", "danh hiệu Chiến sĩ thi đua cấp tỉnh", "danh hiệu Tập thể lao động xuất sắc"]),
    "Văn thư, lưu trữ": ("Sở Nội vụ", ["chứng chỉ hành nghề lưu trữ", "tài liệu lưu trữ"]),
    "Việc làm": ("Sở Nội vụ", ["giấy phép hoạt động dịch vụ việc làm", "trợ cấp thất nghiệp", "người lao động nước ngoài"]),
    "Giáo dục nghề nghiệp": ("Sở Nội vụ", ["trường trung cấp", "trung tâm giáo dục nghề nghiệp", "hoạt động giáo dục nghề nghiệp"]),
    "An toàn, vệ sinh lao động": ("Sở Nội vụ", ["tổ chức huấn luyện an toàn, vệ sinh lao động", "kiểm định kỹ thuật an toàn lao động"]),
    "Người có công": ("Sở Nội vụ", ["trợ cấp ưu đãi người có công", "di chuyển hồ sơ người có công", "giám định thương tật"]),
    "Bảo trợ xã hội": ("Sở Nội vụ", ["cơ sở trợ giúp xã hội", "cơ sở cai nghiện ma túy tự nguyện"]),
    "Văn hóa": ("Sở Văn hóa, Thể thao và Du lịch", ["giấy phép tổ chức lễ hội", "triển lãm mỹ thuật", "biểu diễn nghệ thuật", "giám định cổ vật", "di tích lịch sử - văn hóa"]),
    "Du lịch": ("Sở Văn hóa, Thể thao và Du lịch", ["thẻ hướng dẫn viên du lịch", "giấy phép kinh doanh dịch vụ lữ hành nội địa", "cơ sở lưu trú du lịch"]),
    "Thể dục thể thao": ("Sở Văn hóa, Thể thao và Du lịch", ["doanh nghiệp kinh doanh hoạt động thể thao", "giải thi đấu thể thao", "câu lạc bộ thể thao chuyên nghiệp"]),
    "Gia đình": ("Sở Văn hóa, Thể thao và Du lịch", ["cơ sở hỗ trợ nạn nhân bạo lực gia đình", "cơ sở tư vấn về phòng, chống bạo lực gia đình"]),
    "Báo chí, xuất bản": ("Sở Văn hóa, Thể thao và Du lịch", ["giấy phép xuất bản bản tin", "hoạt động in", "nhập khẩu xuất bản phẩm"]),
    "Viễn thông và Internet": ("Sở Khoa học và Công nghệ", ["điểm cung cấp dịch vụ trò chơi điện tử công cộng", "giấy phép cung cấp dịch vụ trò chơi điện tử G1"]),
    "Hoạt động khoa học và công nghệ": ("Sở Khoa học và Công nghệ", ["tổ chức khoa học và công nghệ", "kết quả thực hiện nhiệm vụ khoa học và công nghệ", "doanh nghiệp khoa học và công nghệ"]),
    "Tiêu chuẩn đo lường chất lượng": ("Sở Khoa học và Công nghệ", ["chuẩn đo lường", "tổ chức kiểm định phương tiện đo", "công bố hợp chuẩn, hợp quy"]),
    "An toàn bức xạ và hạt nhân": ("Sở Khoa học và Công nghệ", ["thiết bị X-quang chẩn đoán trong y tế", "chứng chỉ nhân viên bức xạ"]),
    "Chuyển giao công nghệ": ("Sở Khoa học và Công nghệ", ["hợp đồng chuyển giao công nghệ"]),
    "Bưu chính": ("Sở Khoa học và Công nghệ", ["giấy phép bưu chính", "văn bản xác nhận thông báo hoạt động bưu chính"]),
    "Công tác lãnh sự": ("Sở Ngoại vụ", ["hội nghị, hội thảo quốc tế", "thị thực cho người nước ngoài", "hợp pháp hóa lãnh sự"]),
    "Tôn giáo": ("Sở Dân tộc và Tôn giáo", ["tổ chức tôn giáo cơ sở", "hoạt động tôn giáo ngoài cơ sở", "đăng ký người được phong phẩm", "hội nghị thường niên của tổ chức tôn giáo"]),
    "Công tác dân tộc": ("Sở Dân tộc và Tôn giáo", ["người có uy tín trong đồng bào dân tộc thiểu số", "đối tượng hưởng chính sách dân tộc"]),
    "Giải quyết khiếu nại": ("Thanh tra tỉnh", ["khiếu nại lần hai", "khiếu nại lần đầu tại cấp tỉnh"]),
    "Giải quyết tố cáo": ("Thanh tra tỉnh", ["tố cáo tại cấp tỉnh"]),
    "Tiếp công dân": ("Thanh tra tỉnh", ["tiếp công dân tại cấp tỉnh"]),
    "Quản lý khu công nghiệp": ("Ban quản lý các khu công nghiệp", ["giấy phép lao động trong khu công nghiệp", "nội quy lao động của doanh nghiệp", "dự án đầu tư trong khu công nghiệp", "giấy xác nhận ưu đãi dự án sản xuất sản phẩm công nghiệp hỗ trợ"]),
}
COMMUNE_FIELDS: dict[str, list[str]] = {
    "Hộ tịch": ["khai sinh cho người nước ngoài", "giám hộ", "chấm dứt giám hộ", "thay đổi, cải chính, bổ sung thông tin hộ tịch", "nhận cha, mẹ, con", "khai tử lưu động", "kết hôn lưu động"],
    "Chứng thực": ["bản sao điện tử từ bản chính", "di chúc", "văn bản từ chối nhận di sản", "hợp đồng thế chấp nhà ở", "việc sửa lỗi sai sót trong hợp đồng, giao dịch"],
    "Đất đai": ["hòa giải tranh chấp đất đai", "đăng ký đất đai lần đầu", "chuyển mục đích sử dụng đất của hộ gia đình, cá nhân", "xác nhận đất không có tranh chấp", "thu hồi đất", "đăng ký biến động đất đai"],
    "Xây dựng": ["giấy phép xây dựng nhà ở riêng lẻ", "giấy phép sửa chữa, cải tạo công trình", "giấy phép di dời công trình", "thẩm định báo cáo kinh tế - kỹ thuật"],
    "Bảo trợ xã hội": ["trợ giúp xã hội khẩn cấp", "nhận chăm sóc, nuôi dưỡng đối tượng cần bảo vệ khẩn cấp", "hỗ trợ kinh phí nhận chăm sóc người cao tuổi", "đăng ký thành lập cơ sở trợ giúp xã hội ngoài công lập"],
    "Người có công": ["trợ cấp thờ cúng liệt sĩ", "cấp giấy xác nhận thân nhân liệt sĩ", "mua bảo hiểm y tế cho người có công", "hỗ trợ cải thiện nhà ở người có công"],
    "Giáo dục và Đào tạo": ["trường mầm non", "nhóm trẻ độc lập", "trường tiểu học", "trường trung học cơ sở", "xét tuyển sinh vào trung học cơ sở", "hỗ trợ học tập"],
    "Văn hóa": ["giấy phép kinh doanh karaoke", "công nhận gia đình văn hóa", "lễ hội cấp xã", "thư viện cộng đồng"],
    "Thể dục thể thao": ["câu lạc bộ thể thao cơ sở", "công nhận gia đình thể thao"],
    "Hòa giải ở cơ sở": ["hòa giải viên", "thôi làm hòa giải viên", "thanh toán thù lao cho hòa giải viên"],
    "Phổ biến giáo dục pháp luật": ["báo cáo viên pháp luật cấp xã", "tuyên truyền viên pháp luật", "xã đạt chuẩn tiếp cận pháp luật"],
    "Nuôi con nuôi": ["nuôi con nuôi trong nước", "nuôi con nuôi thực tế", "giải quyết việc người nước ngoài thường trú ở Việt Nam nhận con nuôi"],
    "Thành lập và hoạt động của hộ kinh doanh": ["giấy chứng nhận đăng ký hộ kinh doanh", "hộ kinh doanh tạm ngừng kinh doanh", "hộ kinh doanh thay đổi địa điểm"],
    "Nông nghiệp": ["hỗ trợ đầu tư cơ sở hạ tầng nông nghiệp", "hỗ trợ khôi phục sản xuất vùng bị thiệt hại do thiên tai", "kinh tế trang trại"],
    "Thủy lợi": ["phê duyệt kế hoạch khai thác thủy lợi nhỏ", "hoạt động trong phạm vi bảo vệ công trình thủy lợi do xã quản lý"],
    "Môi trường": ["kế hoạch bảo vệ môi trường", "đăng ký môi trường", "tham vấn đánh giá tác động môi trường"],
    "Tôn giáo": ["sinh hoạt tôn giáo tập trung", "hoạt động tín ngưỡng", "người đại diện nhóm sinh hoạt tôn giáo", "quyên góp ngoài địa bàn"],
    "Thi đua, khen thưởng": ["khen thưởng đột xuất", "khen thưởng theo công trạng", "danh hiệu Lao động tiên tiến"],
    "Công Thương": ["giấy phép bán lẻ rượu", "giấy phép bán lẻ sản phẩm thuốc lá", "cửa hàng đủ điều kiện bán lẻ LPG chai"],
    "Lao động": ["chế độ tai nạn lao động", "hỗ trợ người lao động mất việc làm", "đăng ký nội quy lao động"],
    "Giảm nghèo": ["hộ thoát nghèo", "hộ làm nông nghiệp có mức sống trung bình", "hỗ trợ phát triển sản xuất cho hộ nghèo"],
    "Y tế": ["cấp giấy chứng sinh", "chế độ hỗ trợ cho nhân viên y tế thôn bản", "cơ sở kinh doanh dịch vụ ăn uống nhỏ lẻ"],
    "Giao thông": ["giấy phép thi công công trình trên đường xã", "chấp thuận xây dựng công trình thiết yếu trên đường xã"],
}
VERBS = ["Cấp {o}", "Cấp lại {o}", "Gia hạn {o}", "Điều chỉnh {o}", "Đăng ký {o}", "Thay đổi nội dung đăng ký {o}",
         "Công nhận {o}", "Thẩm định {o}", "Phê duyệt {o}", "Xác nhận {o}", "Cho phép {o}", "Thu hồi {o}"]
PROVINCE_NAME = "tỉnh Phú Thọ"
FEES = ["Không", "Không thu phí", "50.000 đồng/hồ sơ", "100.000 đồng/lần", "200.000 đồng/giấy phép",
        "Theo quy định của Bộ Tài chính", "1.500.000 đồng/hồ sơ"]


def _time_text(rng: random.Random) -> str:
    """A processing time written the way catalogues write them, in realistic proportions."""
    kind = rng.random()
    wd = rng.choice([1, 2, 3, 3, 5, 5, 5, 7, 10, 10, 12, 15, 15, 20, 20, 25, 30, 30, 45])
    if kind < 0.30:
        return f"{wd:02d} ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ"
    if kind < 0.48:
        return f"{wd:02d} ngày làm việc"
    if kind < 0.56:
        return f"Không quá {wd:02d} ngày làm việc"
    if kind < 0.64:
        return f"{rng.choice([10, 15, 20, 30, 45, 60]):02d} ngày"
    if kind < 0.68:
        return f"Không quá {rng.choice([15, 30, 45]):02d} ngày"
    if kind < 0.76:
        cut = rng.choice([20, 30, 40, 50])
        reduced = max(1, round(wd * (100 - cut) / 100))
        return f"{reduced:02d} ngày làm việc (cắt giảm {cut}% so với quy định)"
    if kind < 0.81:
        return rng.choice(["Trong ngày", "Ngay trong ngày làm việc", "Trong ngày làm việc; trường hợp nhận hồ sơ "
                           "sau 15 giờ thì trả kết quả trong ngày làm việc tiếp theo"])
    if kind < 0.85:
        return f"{rng.choice([2, 4, 8, 12, 16]):02d} giờ làm việc"
    if kind < 0.88:
        return "Không quy định"
    if kind < 0.92:
        return f"{wd:02d} ngày làm việc; trường hợp phải xác minh thì không quá {wd + 5:02d} ngày làm việc"
    if kind < 0.96:
        return "; ".join(f"{channel}: {wd:02d} ngày làm việc"
                         for channel in ("Trực tiếp", "Trực tuyến", "Dịch vụ bưu chính"))
    return f"{wd:02d} ngày làm việc kể từ ngày nhận được hồ sơ đầy đủ, hợp lệ."


def _code(rng: random.Random, used: set[str]) -> str:
    while True:
        core = f"{rng.choice([1, 1, 1, 2, 2, 3])}.{rng.randrange(0, 14_000):06d}"
        if core not in used:
            used.add(core)
            break
    form = rng.random()
    if form < 0.55:
        return f"{core}.000.00.00.H44"
    if form < 0.80:
        return core
    return f"{core}.H44"


def _packaged_time(procedure) -> str:
    if procedure.time_unit == "none":
        return "Không quy định"
    amount = procedure.processing_amount
    if procedure.time_unit == "working_hours" and amount == 2 and procedure.cutoff is not None:
        return "Trong ngày; trường hợp nhận hồ sơ sau 15 giờ thì trả kết quả trong ngày làm việc tiếp theo"
    number = f"{int(amount):02d}" if amount == int(amount) else str(amount).replace(".", ",")
    word = {"working_days": "ngày làm việc", "calendar_days": "ngày", "working_hours": "giờ làm việc"}[procedure.time_unit]
    return f"{number} {word} kể từ ngày nhận đủ hồ sơ hợp lệ"


def rows() -> list[list[str]]:
    rng = random.Random(SEED)
    used: set[str] = set()
    out: list[list[str]] = []
    for procedure in Catalogue.load():  # the packaged 41, real codes, first
        used.add(procedure.key)
        level = "Cấp xã" if procedure.level == "commune" else "Cấp tỉnh"
        agency = COMMUNE_AGENCY if procedure.level == "commune" else "Sở, ban, ngành cấp tỉnh"
        out.append([procedure.code.replace(".H44", ".000.00.00.H44"), procedure.name, procedure.field, level,
                    agency, _packaged_time(procedure), rng.choice(FEES)])
    names: set[str] = {r[1] for r in out}
    candidates: list[tuple[str, str, str, str]] = []
    for field_name, (agency, objects) in PROVINCE_FIELDS.items():
        for obj in objects:
            for verb in VERBS:
                candidates.append((verb.format(o=obj), field_name, "Cấp tỉnh", f"{agency} {PROVINCE_NAME}"))
    for field_name, objects in COMMUNE_FIELDS.items():
        for obj in objects:
            for verb in VERBS:
                candidates.append((verb.format(o=obj), field_name, "Cấp xã", COMMUNE_AGENCY))
    rng.shuffle(candidates)
    # About two thirds province-level, a third commune-level, as in a province's announced catalogue.
    province = [c for c in candidates if c[2] == "Cấp tỉnh"]
    commune = [c for c in candidates if c[2] == "Cấp xã"]
    wanted = TARGET - len(out)
    chosen: list[tuple[str, str, str, str]] = []
    for pool, count in ((province, round(wanted * 0.64)), (commune, wanted - round(wanted * 0.64))):
        fresh = [c for c in dict.fromkeys(pool) if c[0] not in names]
        chosen.extend(fresh[:count])
        names.update(c[0] for c in fresh[:count])
    chosen.sort(key=lambda c: (c[2] != "Cấp tỉnh", c[1], c[0]))
    for name, field_name, level, agency in chosen:
        out.append([_code(rng, used), name, field_name, level, agency, _time_text(rng), rng.choice(FEES)])
    assert len(out) == TARGET, len(out)
    return out


# The deliberately broken rows of the malformed twin: (data row index, column index, new value, why).
BREAKS = [
    (57, 5, "02 tháng", "months"),
    (210, 0, "1.00089", "code of 5 digits"),
    (333, 3, "Cấp huyện", "district level"),
    (480, 5, "", "empty time"),
    (702, 0, None, "duplicate code (copied from row index 701)"),
    (905, 5, "05 - 07 ngày làm việc", "range"),
    (1111, 5, "24 giờ", "hours without 'làm việc'"),
    (1300, 1, "", "no name"),
]


def malformed(data: list[list[str]]) -> list[list[str]]:
    broken = [list(r) for r in data]
    for index, column, value, _ in BREAKS:
        broken[index][column] = broken[index - 1][0] if value is None else value
    return broken


def write_csv(path: Path, data: list[list[str]]) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for number, row in enumerate(data, start=1):
        writer.writerow([str(number), *row])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def write_xlsx(path: Path, data: list[list[str]], numeric_code_row: int | None = None) -> None:
    """A decision's annex: a title row and a blank row above the header; ``numeric_code_row`` (a data index)
    gets its code as an Excel number, as happens when a clerk retypes a code into a General-format cell."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Danh mục TTHC"
    sheet.append([TITLE])
    sheet.append([])
    sheet.append(HEADER)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for number, row in enumerate(data, start=1):
        values: list[object] = [number, *row]
        if numeric_code_row is not None and number - 1 == numeric_code_row:
            values[1] = float(row[0].split(".000.")[0]) if ".000." in row[0] else float(row[0][:8])
        sheet.append(values)
    for letter, width in zip("ABCDEFGH", (6, 26, 70, 28, 12, 36, 50, 24), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A4"
    fixed = dt.datetime(2026, 12, 1, 8, 0, 0)
    workbook.properties.creator = "CCHC sample catalogue"
    workbook.properties.created = fixed
    workbook.properties.modified = fixed
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)


XLSX_FIRST_DATA_ROW = 4  # title, blank, header, then data
NUMERIC_CODE_INDEX = 1200


def main() -> None:
    data = rows()
    write_csv(SAMPLE_DIR / "phu_tho_tthc_sample.csv", data)
    write_xlsx(SAMPLE_DIR / "phu_tho_tthc_sample.xlsx", data)
    broken = malformed(data)
    write_csv(TEST_DIR / "catalogue_malformed.csv", broken)
    write_xlsx(TEST_DIR / "catalogue_malformed.xlsx", broken, numeric_code_row=NUMERIC_CODE_INDEX)
    csv_rows = sorted(index + 2 for index, *_ in BREAKS)  # header on line 1
    xlsx_rows = sorted([index + XLSX_FIRST_DATA_ROW for index, *_ in BREAKS]
                       + [NUMERIC_CODE_INDEX + XLSX_FIRST_DATA_ROW])
    expected = {"rows": len(data), "csv": csv_rows, "xlsx": xlsx_rows,
                "why": {str(index + 2): why for index, _, _, why in BREAKS}}
    (TEST_DIR / "catalogue_malformed.expected.json").write_text(json.dumps(expected, indent=2, ensure_ascii=False)
                                                               + "\n", encoding="utf-8")
    print(f"{len(data)} procedures → {SAMPLE_DIR.relative_to(ROOT)}/phu_tho_tthc_sample.{{csv,xlsx}}; "
          f"malformed twin with {len(BREAKS)} broken rows (+1 numeric code in the XLSX) → tests/data/")


if __name__ == "__main__":
    main()
