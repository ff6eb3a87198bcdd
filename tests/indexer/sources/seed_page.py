"""The real seed page (../shared/seeds) and what any parse of it must give: shared by the
portal tests (text export, HTML built from it, files)."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from indexer.record import Article

SHARED = Path(__file__).resolve().parents[4] / "shared"
SEED = SHARED / "seeds" / "portal-article-an-giang-2014.txt"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SHAREPOINT_HTML = FIXTURES / "portal-an-giang-sharepoint.html"
NEWS_HTML = FIXTURES / "portal-an-giang-news.html"

TITLE = ("Huyện ủy An Phú đưa việc học tập và làm theo tấm gương đạo đức Hồ Chí Minh "
         "trở thành hoạt động thường xuyên")
DATE = dt.datetime(2014, 12, 30, 7, 42)
FINAL = ("Những cách làm trên của Huyện ủy An Phú đã mang lại hiệu quả thiết thực, góp phần "
         "đưa việc học tập và làm theo tấm gương đạo đức Hồ Chí Minh trở thành hoạt động thường "
         "xuyên trong từng chi bộ, cơ quan, đơn vị đúng theo tinh thần Chỉ thị số 03-CT/TW của "
         "Bộ Chính trị.")
CHROME = [
    "Skip Ribbon Commands", "Skip to main content", "Chào mừng quý vị", "Cỡ chữ", "Font size",
    "Lượt người xem", "Views", "1639", "Manage Permissions", "Version History",
    "Tiêu đề", "Hình ảnh", "Link thay thế nội dung", "Số lượt người đọc", "Approval Status",
    "Attachments", "Content Type", "Version:", "Created at", "Last modified at", "Thành Nhân",
]


def assert_seed_body(article: Article) -> None:
    body = article.body
    for chrome in CHROME:
        assert chrome not in body, chrome
    paragraphs = body.split("\n\n")
    assert paragraphs[0].startswith("(TGAG)- Nhiều năm qua")  # the lead is article text too
    assert paragraphs[-1] == FINAL
    numbered = [p for p in paragraphs if re.match(r"^\d- ", p)]
    assert [p[:2] for p in numbered] == [f"{i}-" for i in range(1, 8)]
    assert numbered[4].startswith("5- Đề cao vai trò nêu gương")  # adjacent 5-/6- stay apart
    assert numbered[5].startswith("6- Trong báo cáo tổng kết năm")
    assert len(paragraphs) == 15  # lead, 5 paragraphs, 1- to 7-, 2 closing paragraphs
    assert "\xa0" not in body and "  " not in body
