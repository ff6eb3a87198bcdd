"""Page files: ids, encodings (UTF-8, UTF-16, declared charsets, legacy), size limits and
file errors."""
from __future__ import annotations

import datetime as dt
import sys
import types
import unicodedata
from pathlib import Path

import pytest

from indexer.record import Article, RecordError
from indexer.sources.portal import read_portal_file
from tests.indexer.sources.seed_page import DATE, NEWS_HTML, SHAREPOINT_HTML, TITLE


def test_read_text_file_id_is_the_absolute_path(tmp_path: Path, seed_text: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "pages" / "an-phu.txt"
    page.parent.mkdir()
    page.write_text(seed_text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    (first,) = read_portal_file(Path("pages/an-phu.txt"))  # relative, as a user would type it
    monkeypatch.chdir(page.parent)
    (second,) = read_portal_file(Path("an-phu.txt"))
    assert isinstance(first, Article) and isinstance(second, Article)
    assert first.id == second.id == str(page.resolve())
    assert first.title == TITLE and first.extras["views"] == 1639
    assert first.extras["file"] == str(page.resolve())


def test_read_html_file_id_is_the_canonical_url(tmp_path: Path) -> None:
    page = tmp_path / "saved.htm"
    page.write_bytes(NEWS_HTML.read_bytes())
    (article,) = read_portal_file(page)
    assert isinstance(article, Article)
    assert article.id.startswith("https://angiang.dcs.vn/")
    (sharepoint,) = read_portal_file(SHAREPOINT_HTML)
    assert isinstance(sharepoint, Article) and sharepoint.id == str(SHAREPOINT_HTML.resolve())


def test_read_utf8_with_bom_and_utf16(tmp_path: Path, seed_text: str) -> None:
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + seed_text.encode("utf-8"))
    utf16 = tmp_path / "utf16.txt"
    utf16.write_bytes(seed_text.replace("\n", "\r\n").encode("utf-16"))  # as VNTC shipped
    for path in (bom, utf16):
        (article,) = read_portal_file(path)
        assert isinstance(article, Article), article
        assert article.title == TITLE and article.date == DATE


def cp1258_bytes(text: str) -> bytes:
    """Windows-1258 spelling: precomposed base letters (ê, ơ, ư) plus separate tone marks."""
    tones = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    out = []
    for ch in unicodedata.normalize("NFC", text):
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
        out.append(base + "".join(c for c in parts if c in tones))
    return "".join(out).encode("cp1258")


def test_html_declared_legacy_charset(tmp_path: Path) -> None:
    html = ('<html><head><meta http-equiv="Content-Type" content="text/html; '
            'charset=windows-1258"><title>Tỉnh ủy An Giang sơ kết công tác Đảng</title></head>'
            "<body><div><p>Ngày 30 tháng 12 năm 2014, Tỉnh ủy An Giang tổ chức hội nghị sơ kết "
            "công tác xây dựng Đảng, đánh giá kết quả học tập và làm theo Bác.</p></div>"
            "</body></html>")
    page = tmp_path / "old.html"
    page.write_bytes(cp1258_bytes(html))
    (article,) = read_portal_file(page)
    assert isinstance(article, Article), article
    assert article.title == "Tỉnh ủy An Giang sơ kết công tác Đảng"
    assert unicodedata.is_normalized("NFC", article.body)
    assert article.body.startswith("Ngày 30 tháng 12 năm 2014, Tỉnh ủy")
    assert article.date == dt.datetime(2014, 12, 30)


BAD_UTF8 = b"Ti\xeau \xf0\x28 \xff\xfe page\n"


def test_invalid_utf8_without_legacy_module(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "indexer.legacy", None)  # import now fails
    page = tmp_path / "legacy.txt"
    page.write_bytes(BAD_UTF8)
    (error,) = read_portal_file(page)
    assert isinstance(error, RecordError)
    assert error.where == str(page)
    assert "not valid UTF-8" in error.reason and "indexer.legacy" in error.reason


def fake_legacy(result: str | None) -> types.ModuleType:
    module = types.ModuleType("indexer.legacy")

    class LegacyDecodeError(UnicodeDecodeError):
        def __init__(self, data: bytes, reason: str) -> None:
            super().__init__("vietnamese-legacy", data, 0, len(data), reason)

    def decode_bytes(data: bytes) -> str:
        if result is None:
            raise LegacyDecodeError(data, "no encoding gives Vietnamese text")
        return result

    module.LegacyDecodeError = LegacyDecodeError  # type: ignore[attr-defined]
    module.decode_bytes = decode_bytes  # type: ignore[attr-defined]
    return module


def test_invalid_utf8_goes_to_legacy_decoder(tmp_path: Path, seed_text: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "indexer.legacy", fake_legacy(seed_text))
    page = tmp_path / "legacy.txt"
    page.write_bytes(BAD_UTF8)
    (article,) = read_portal_file(page)
    assert isinstance(article, Article) and article.title == TITLE


def test_legacy_decoder_failure_is_a_record_error(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "indexer.legacy", fake_legacy(None))
    page = tmp_path / "binary.html"
    page.write_bytes(BAD_UTF8)
    (error,) = read_portal_file(page)
    assert isinstance(error, RecordError) and error.where == str(page)
    assert "nor a known legacy Vietnamese encoding" in error.reason
    assert "no encoding gives Vietnamese text" in error.reason


def test_real_legacy_module_decodes_a_vni_export(tmp_path: Path, seed_text: str) -> None:
    legacy = pytest.importorskip("indexer.legacy")
    if not hasattr(legacy, "encode_legacy"):
        pytest.skip("indexer.legacy has no encode_legacy to build the input")
    page = tmp_path / "vni.txt"
    page.write_bytes(legacy.encode_legacy(seed_text, "vni"))
    (article,) = read_portal_file(page)
    assert isinstance(article, Article), article
    assert article.title == TITLE and article.date == DATE and article.author == "Thành Nhân"


def test_file_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.txt"
    (error,) = read_portal_file(missing)
    assert isinstance(error, RecordError) and error.where == str(missing)
    assert "cannot read file" in error.reason

    other = tmp_path / "page.pdf"
    other.write_bytes(b"%PDF-1.4")
    (error,) = read_portal_file(other)
    assert isinstance(error, RecordError) and "unsupported page type '.pdf'" in error.reason

    big = tmp_path / "big.html"
    big.write_bytes(b"<p>" + b"a" * 2000 + b"</p>")
    (error,) = read_portal_file(big, max_bytes=1000)
    assert isinstance(error, RecordError) and "exceeds max_bytes=1000" in error.reason

    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    (error,) = read_portal_file(empty)
    assert isinstance(error, RecordError) and error.where == str(empty)
    assert error.reason == "no text in page"
