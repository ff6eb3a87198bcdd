"""Legacy Vietnamese encodings: charts, round trips, detection, mojibake repair."""
from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.legacy import (
    LegacyDecodeError,
    decode_bytes,
    decode_legacy,
    detect_bytes,
    encode_legacy,
    repair_text,
)

SEED = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "portal-article-an-giang-2014.txt"

PORTAL = [
    "Huyện ủy An Phú đưa việc học tập và làm theo tấm gương đạo đức Hồ Chí Minh "
    "trở thành hoạt động thường xuyên",
    "Thực hiện Chỉ thị số 03-CT/TW của Bộ Chính trị, nhằm đưa việc học tập và làm theo "
    "tấm gương đạo đức Hồ Chí Minh",
]
# Together these use every vowel with every tone, plus đ and Đ (checked below).
EVERYDAY = [
    "Mẹ bảo em rằng chẳng ai vẽ được bức tranh đẹp như vậy nếu không chịu khó học hỏi.",
    "Chú bộ đội ẵm đứa bé, vẫn giữ tư thế chuẩn và nghĩ về quê hương mỗi lúc nghỉ ngơi.",
    "Kỷ niệm ngày cưới, anh chụp ảnh ở Mỹ Tho rồi gửi về cho chị gái đang học kỹ thuật.",
    "Cỡ chữ nhỏ quá nên cụ già đọc chẳng rõ, đành nhờ cháu đọc to từng dòng một.",
    "Đừng để cơn lũ làm người dân gục quỵ; mọi ý kiến đều được ghi nhận tùy theo định kỳ.",
    "Dù mưa gió, bà vẫn giữ lửa ấm, kể chuyện ngày xửa ngày xưa và nhắc con cháu sống tử tế.",
    "Lần này cuộc thi vẽ tranh có hẳn một trăm em nhỏ đã đến, trẻ nào cũng hớn hở, "
    "không ai mặc cả hay lỡ hẹn.",
    "Bé Thủy ngồi trên bậc thềm, ngẩn ngơ nhìn ngõ nhỏ và nghe tiếng còi tàu từ phía xa.",
    "Ông ấy nói rằng ỷ lại vào người khác thì chẳng bao giờ tự đứng vững được, dễ sụp đổ.",
    "Tôi vẫn nhớ mùi thơm của cỗ xôi gấc, chén chè ấm và lời dặn dò của mẹ bên bếp lửa.",
]
SENTENCES = PORTAL + EVERYDAY
LEGACY = ["vni", "tcvn3", "cp1258"]
# Every vowel with every tone, built from Unicode itself rather than the module's tables.
TONES = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]
TONED_VOWELS = [unicodedata.normalize("NFC", v + t) for v in "aăâeêioôơuưy" for t in TONES]
TCVN3_CAPITALS = "ĂÂÊÔƠƯĐ"


def tcvn3_view(text: str) -> str:
    """What survives TCVN3: uppercase toned letters exist only as lowercase glyphs."""
    return "".join(c if c.isascii() or c in TCVN3_CAPITALS else c.lower() for c in text)


def expected(text: str, encoding: str) -> str:
    return tcvn3_view(text) if encoding == "tcvn3" else text


def mojibake(data: bytes, via: str = "cp1252") -> str:
    """How legacy bytes look once a browser or editor decoded them as cp1252/latin-1."""
    if via == "latin-1":
        return data.decode("latin-1")
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in data)


# --- The tables against the published charts (hand-written bytes) --------------

def test_hanoi_examples_match_the_charts() -> None:
    assert decode_legacy(b"H\xb5 N\xe9i", "tcvn3") == "Hà Nội"
    assert decode_legacy(b"Ha\xf8 No\xe4i", "vni") == "Hà Nội"
    assert decode_legacy(b"H\xe0 N\xf4\xf2i", "cp1258") == "Hà Nội"  # ô + combining dot
    assert decode_bytes(b"H\xb5 N\xe9i") == "Hà Nội"
    assert decode_bytes(b"Ha\xf8 No\xe4i") == "Hà Nội"
    assert repair_text("Hµ Néi") == "Hà Nội"
    assert repair_text("Haø Noäi") == "Hà Nội"


# TCVN 5712:1993 VN3 chart, one row per vowel, tones in the order
# huyền, sắc, hỏi, ngã, nặng; the untoned ă â ê ô ơ ư đ and capitals last.
TCVN3_CHART = [
    (b"\xb5\xb8\xb6\xb7\xb9", "àáảãạ"),
    (b"\xbb\xbe\xbc\xbd\xc6", "ằắẳẵặ"),
    (b"\xc7\xca\xc8\xc9\xcb", "ầấẩẫậ"),
    (b"\xcc\xd0\xce\xcf\xd1", "èéẻẽẹ"),
    (b"\xd2\xd5\xd3\xd4\xd6", "ềếểễệ"),
    (b"\xd7\xdd\xd8\xdc\xde", "ìíỉĩị"),
    (b"\xdf\xe3\xe1\xe2\xe4", "òóỏõọ"),
    (b"\xe5\xe8\xe6\xe7\xe9", "ồốổỗộ"),
    (b"\xea\xed\xeb\xec\xee", "ờớởỡợ"),
    (b"\xef\xf3\xf1\xf2\xf4", "ùúủũụ"),
    (b"\xf5\xf8\xf6\xf7\xf9", "ừứửữự"),
    (b"\xfa\xfd\xfb\xfc\xfe", "ỳýỷỹỵ"),
    (b"\xa8\xa9\xaa\xab\xac\xad\xae", "ăâêôơưđ"),
    (b"\xa1\xa2\xa3\xa4\xa5\xa6\xa7", "ĂÂÊÔƠƯĐ"),
]


@pytest.mark.parametrize(("data", "text"), TCVN3_CHART)
def test_tcvn3_table_matches_chart(data: bytes, text: str) -> None:
    assert decode_legacy(data, "tcvn3") == text
    assert encode_legacy(text, "tcvn3") == data


def test_tcvn3_writes_uppercase_toned_letters_with_lowercase_glyphs() -> None:
    assert encode_legacy("ẤN ĐỘ", "tcvn3") == b"\xcaN \xa7\xe9"
    assert decode_bytes(encode_legacy("HÀ NỘI", "tcvn3")) == "Hà NộI"


def test_tcvn3_vn1_positions_decode_per_standard() -> None:
    # Full TCVN 5712:1993 puts a few capitals and combining tones in slots VN3 leaves empty.
    assert decode_legacy(b"\xc4p", "tcvn3") == "Ấp"
    assert decode_legacy(b"a\xb3", "tcvn3") == "á"


# VNI-Windows chart as its bytes look in cp1252 (base letter + mark bytes).
VNI_CHART = [
    ("aø aù aû aõ aï", "à á ả ã ạ"),
    ("aè aé aú aü aë aê", "ằ ắ ẳ ẵ ặ ă"),
    ("aà aá aå aã aä aâ", "ầ ấ ẩ ẫ ậ â"),
    ("eø eù eû eõ eï", "è é ẻ ẽ ẹ"),
    ("eà eá eå eã eä eâ", "ề ế ể ễ ệ ê"),
    ("ì í æ ó ò", "ì í ỉ ĩ ị"),
    ("oø où oû oõ oï", "ò ó ỏ õ ọ"),
    ("oà oá oå oã oä oâ", "ồ ố ổ ỗ ộ ô"),
    ("ôø ôù ôû ôõ ôï ô", "ờ ớ ở ỡ ợ ơ"),
    ("uø uù uû uõ uï", "ù ú ủ ũ ụ"),
    ("öø öù öû öõ öï ö", "ừ ứ ử ữ ự ư"),
    ("yø yù yû yõ î", "ỳ ý ỷ ỹ ỵ"),
    ("ñ Ñ", "đ Đ"),
    ("AØ AÙ AÛ AÕ AÏ", "À Á Ả Ã Ạ"),
    ("AÈ AÉ AÚ AÜ AË AÊ", "Ằ Ắ Ẳ Ẵ Ặ Ă"),
    ("EÀ EÁ EÅ EÃ EÄ EÂ", "Ề Ế Ể Ễ Ệ Ê"),
    ("Ì Í Æ Ó Ò Î", "Ì Í Ỉ Ĩ Ị Ỵ"),
    ("OÀ OÁ OÅ OÃ OÄ OÂ", "Ồ Ố Ổ Ỗ Ộ Ô"),
    ("ÔØ ÔÙ ÔÛ ÔÕ ÔÏ Ô", "Ờ Ớ Ở Ỡ Ợ Ơ"),
    ("ÖØ ÖÙ ÖÛ ÖÕ ÖÏ Ö", "Ừ Ứ Ử Ữ Ự Ư"),
]


@pytest.mark.parametrize(("glyphs", "text"), VNI_CHART)
def test_vni_table_matches_chart(glyphs: str, text: str) -> None:
    data = glyphs.encode("latin-1")
    assert decode_legacy(data, "vni") == text
    assert encode_legacy(text, "vni") == data


def test_vni_hand_written_bytes() -> None:
    assert decode_legacy(b"\xd1a\xefo \xf1\xf6\xf9c", "vni") == "Đạo đức"
    assert decode_legacy(b"HA\xd8 NO\xc4I", "vni") == "HÀ NỘI"
    assert decode_legacy(b"Ng\xf6\xf4\xf8i", "vni") == "Người"
    # A mark of the wrong case after the base letter still decodes; the base sets the case.
    assert decode_legacy(b"Ha\xd8", "vni") == "Hà"


def test_cp1258_hand_written_bytes_decode_to_nfc() -> None:
    text = decode_legacy(b"Vi\xea\xf2t Nam \xf0a\xf2o \xf0\xfd\xecc", "cp1258")
    assert text == "Việt Nam đạo đức"
    assert unicodedata.is_normalized("NFC", text)
    assert encode_legacy("Việt", "cp1258") == b"Vi\xea\xf2t"


# --- Round trips -------------------------------------------------------------

def test_sentences_cover_every_vowel_with_every_tone() -> None:
    assert len(set(TONED_VOWELS)) == 72
    assert set(TONED_VOWELS) | {"đ", "Đ"} <= set("".join(EVERYDAY))


@pytest.mark.parametrize("encoding", LEGACY)
@pytest.mark.parametrize("sentence", SENTENCES)
def test_round_trip_through_bytes(sentence: str, encoding: str) -> None:
    for text in (sentence, sentence.upper()):
        data = encode_legacy(text, encoding)
        assert not data.isascii()
        assert detect_bytes(data) == encoding
        assert decode_bytes(data) == expected(text, encoding)


@pytest.mark.parametrize("via", ["cp1252", "latin-1"])
@pytest.mark.parametrize("encoding", LEGACY)
@pytest.mark.parametrize("sentence", SENTENCES)
def test_round_trip_through_mojibake(sentence: str, encoding: str, via: str) -> None:
    for text in (sentence, sentence.upper()):
        garbled = mojibake(encode_legacy(text, encoding), via)
        assert garbled != text
        assert repair_text(garbled) == expected(text, encoding)


def test_mojibake_search_queries() -> None:
    assert repair_text("®¹o ®øc") == "đạo đức"
    assert repair_text("ñaïo ñöùc") == "đạo đức"
    assert repair_text("häc tËp vµ lµm theo") == "học tập và làm theo"
    assert repair_text("Chæ thò soá 03-CT/TW") == "Chỉ thị số 03-CT/TW"


_ALPHABET = "".join(TONED_VOWELS) + "".join(TONED_VOWELS).upper() + "đĐ"
_TEXT = st.text(
    alphabet=st.sampled_from(_ALPHABET + "bcdghklmnpqrstvx BCDGHKLMNPQRSTVX.,-/0123456789“”–\u00a0"),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_tables_are_exact_inverses(text: str) -> None:
    for encoding in LEGACY:
        assert decode_legacy(encode_legacy(text, encoding), encoding) == expected(text, encoding)


# --- Detection -----------------------------------------------------------------

def test_detects_utf8_and_ascii() -> None:
    assert detect_bytes(PORTAL[0].encode("utf-8")) == "utf-8"
    assert detect_bytes(b"Chi thi so 03-CT/TW") == "utf-8"
    assert detect_bytes(b"") == "utf-8"
    nfd = unicodedata.normalize("NFD", PORTAL[1]).encode("utf-8")
    assert decode_bytes(nfd) == PORTAL[1]


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (b"\xae\xb9o \xae\xf8c", "tcvn3"),
        (b"Ti\xd5ng Vi\xd6t", "tcvn3"),
        (b"\xf1a\xefo \xf1\xf6\xf9c", "vni"),
        (b"Tie\xe1ng Vie\xe4t", "vni"),
        (b"Ti\xea\xecng Vi\xea\xf2t", "cp1258"),
        (b"\xf0a\xf2o \xf0\xfd\xecc", "cp1258"),
    ],
)
def test_detects_short_hand_written_samples(data: bytes, encoding: str) -> None:
    assert detect_bytes(data) == encoding


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("size", [64, 300, 8192])
def test_random_binary_is_rejected(seed: int, size: int) -> None:
    # Statistical: a dozen random bytes can pass for a few one-letter words; 64 cannot.
    data = random.Random(seed).randbytes(size)
    with pytest.raises(LegacyDecodeError):
        decode_bytes(data)
    with pytest.raises(ValueError):
        detect_bytes(data)


@pytest.mark.parametrize("seed", range(5))
def test_random_high_bytes_are_rejected(seed: int) -> None:
    rng = random.Random(seed)
    data = bytes(rng.randrange(0x80, 0x100) for _ in range(2000))
    with pytest.raises(LegacyDecodeError):
        decode_bytes(data)


# --- repair_text leaves real text alone ------------------------------------------

@pytest.mark.parametrize(
    "text",
    [
        "",
        "03-CT/TW",
        "52/2014/QH13",
        "Search engine for legacy documents",
        *SENTENCES,
        *(s.upper() for s in SENTENCES),
        "Chỉ thị 03-CT/TW và Luật số 52/2014/QH13 (marriage and family law)",
        unicodedata.normalize("NFD", PORTAL[0]),
        # Vietnamese that happens to fit in latin-1 and so could be taken for mojibake.
        "Tôi là ai",
        "Cà Mau",
        "Cô ấy",
        "Bà Rịa",
        "Ông ý",
        "Tò mò",
        "Lò Văn Giàng",
        # Other languages with accents.
        "naïve café",
        "São Paulo",
        "Zürich",
        "déjà vu",
        "Crème brûlée à la carte",
        "José Martí",
        "Ñandú",
    ],
)
def test_repair_text_leaves_non_mojibake_unchanged(text: str) -> None:
    assert repair_text(text) == text


def test_repair_text_returns_nfc() -> None:
    fixed = repair_text("HuyÖn ñy An Phó")
    assert fixed == "Huyện ủy An Phú"
    assert unicodedata.is_normalized("NFC", fixed)


# --- Encoder edge cases -----------------------------------------------------------

def test_encode_legacy_rejects_unknown_encoding_and_characters() -> None:
    with pytest.raises(ValueError):
        encode_legacy("Hà Nội", "viscii")
    with pytest.raises(ValueError):
        encode_legacy("Ω", "vni")
    with pytest.raises(ValueError):
        encode_legacy("Müller", "tcvn3")  # ü's byte is ỹ in TCVN3
    with pytest.raises(ValueError):
        decode_legacy(b"abc", "koi8-r")


def test_cp1252_punctuation_passes_through() -> None:
    text = "“Học tập” – làm theo\u00a0Bác"
    for encoding in LEGACY:
        assert decode_bytes(encode_legacy(text, encoding)) == expected(text, encoding)


# --- The seed article -------------------------------------------------------------

@pytest.fixture(scope="module")
def article() -> str:
    if not SEED.is_file():
        pytest.skip(f"seed article not found at {SEED}")
    return SEED.read_text(encoding="utf-8")


@pytest.mark.parametrize("encoding", LEGACY)
def test_seed_article_round_trips(article: str, encoding: str) -> None:
    data = encode_legacy(article, encoding)
    assert detect_bytes(data) == encoding
    assert decode_bytes(data) == expected(article, encoding)
    assert repair_text(mojibake(data)) == expected(article, encoding)


def test_seed_article_unicode_is_left_alone(article: str) -> None:
    assert detect_bytes(article.encode("utf-8")) == "utf-8"
    assert decode_bytes(article.encode("utf-8")) == article
    assert repair_text(article) == article
