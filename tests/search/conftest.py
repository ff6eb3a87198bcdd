"""A small real-text index, built once per session, for the search tests.

Contents: the An Giang party-portal article (the seed page), ~300 Dân trí articles (dates,
categories), four laws (doc numbers, one of 560k characters), and hand-made documents for
ranking, phrase, escaping and sorting checks.
"""
from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest
from whoosh import index

from indexer.record import Article
from indexer.schema import build_schema, prepare

SHARED = Path("/work/shared")
SEED = SHARED / "seeds" / "portal-article-an-giang-2014.txt"
DANTRI = SHARED / "data" / "unc-dantri-news" / "corpus.jsonl.gz"
LAWS = SHARED / "data" / "vlc-vietnamese-laws" / "corpus.jsonl.gz"
LAW_IDS = (
    "vlc-luat-hon-nhan-va-gia-dinh",  # 52/2014/QH13
    "vlc-luat-bao-hiem-xa-hoi",  # 58/2014/QH13
    "vlc-hien-phap",
    "vlc-bo-luat-hinh-su",  # 558k characters
)
SEED_TITLE = ("Huyện ủy An Phú đưa việc học tập và làm theo tấm gương đạo đức Hồ Chí Minh "
              "trở thành hoạt động thường xuyên")
DANTRI_EVERY = 9  # ~295 of 2,653

pytestmark = []


def _seed() -> Article:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("(TGAG)"))
    end = next(i for i, line in enumerate(lines) if line.strip() == "Thành Nhân")
    body = "\n".join(lines[start:end + 1]).strip()
    return Article(id="seed-an-giang-2014", title=SEED_TITLE, body=body,
                   date=dt.datetime(2014, 12, 30), categories=["Xây dựng Đảng"],
                   author="Thành Nhân", url="http://www.angiang.org.vn/seed", source="seed")


def _date(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _dantri() -> list[Article]:
    out = []
    with gzip.open(DANTRI, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i % DANTRI_EVERY:
                continue
            d = json.loads(line)
            out.append(Article(id=d["id"], title=d["title"] or "", body=d["body"] or "",
                               date=_date(d.get("date")),
                               categories=[d["category"]] if d.get("category") else [],
                               url=d.get("url") or "", source="dantri",
                               extras={"category_en": d.get("category_en")}))
    return out


def _laws() -> list[Article]:
    out = []
    with gzip.open(LAWS, "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if d["id"] in LAW_IDS:
                out.append(Article(id=d["id"], title=d["title"], body=d["body"],
                                   date=_date(d.get("date")), categories=[d["category"]],
                                   doc_number=d.get("doc_number") or "", source="vlc"))
    return out


HANDMADE = [
    # exact accents vs. text typed without accents (folded-only match)
    Article(id="t-exact", title="Hội thảo giáo dục",
            body="Buổi hội thảo bàn về học tập suốt đời của người lớn tuổi ở nông thôn.",
            date=dt.datetime(2021, 3, 1), categories=["Thử nghiệm"]),
    Article(id="t-folded", title="Hoi thao giao duc",
            body="Buoi hoi thao ban ve hoc tap suot doi cua nguoi lon tuoi o nong thon.",
            date=dt.datetime(2021, 3, 2), categories=["Thử nghiệm"]),
    # "học" and "tập" both present, never next to each other
    Article(id="t-apart", title="Một buổi sáng ở trường làng",
            body="Các em học sinh xếp hàng rồi cùng nhau tập thể dục trên sân trường.",
            date=dt.datetime(2021, 3, 3), categories=["Thử nghiệm"]),
    # escaping
    Article(id="t-xss", title="<script>alert(1)</script> Cảnh báo mã độc & lừa đảo",
            body=('Kẻ gian gửi liên kết "javascript:alert(1)" và ảnh <img src=x onerror=alert(1)> '
                  "để lừa người dùng; chuyên gia khuyên cảnh giác với mã độc khi học tập trực tuyến."),
            date=dt.datetime(2021, 4, 1), categories=["Thử nghiệm"]),
    # undated, for sorting
    Article(id="t-undated", title="Ghi chép không ngày tháng về mã độc",
            body="Một ghi chép ngắn về mã độc, không có ngày đăng.", categories=["Thử nghiệm"]),
    # synonyms
    Article(id="t-ubnd", title="Ủy ban nhân dân tỉnh An Giang họp phiên thường kỳ",
            body="Ủy ban nhân dân tỉnh An Giang tổ chức phiên họp thường kỳ tháng 5.",
            date=dt.datetime(2021, 5, 5), categories=["Thử nghiệm"]),
]


def all_articles() -> list[Article]:
    return [_seed(), *_dantri(), *_laws(), *HANDMADE]


@pytest.fixture(scope="session")
def articles() -> list[Article]:
    return all_articles()


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory, articles: list[Article]) -> Path:
    path = tmp_path_factory.mktemp("search-index")
    ix = index.create_in(str(path), build_schema())
    half = len(articles) // 2
    # two commits: two segments, as a live index has
    for batch in (articles[:half], articles[half:]):
        w = ix.writer()
        for a in batch:
            w.add_document(**prepare(a))
        w.commit()
    return path


@pytest.fixture(scope="session")
def engine(index_dir: Path):
    from search.engine import Engine

    eng = Engine(index_dir)
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def by_id(articles: list[Article]) -> dict[str, Article]:
    return {a.id: a for a in articles}


@pytest.fixture()
def three_segments(tmp_path: Path) -> Path:
    """An index of 90 Dân trí articles in three segments (`segment_fixtures`)."""
    from tests.search.segment_fixtures import build, dantri_articles

    path = tmp_path / "index"
    build(path, dantri_articles(0, 90), 30)
    return path
