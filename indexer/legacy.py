"""Legacy Vietnamese 8-bit encodings: detection, decoding, mojibake repair.

Old government documents reach us as Windows-1258 (cp1258, decomposed tone
marks), VNI-Windows (base letter followed by mark bytes) or TCVN3 (ABC,
TCVN 5712:1993 "VN3", one byte per precomposed lowercase letter).  The same
text pasted into a search box arrives as mojibake: the legacy bytes shown as
cp1252/latin-1 ("Hµ Néi", "Haø Noäi" for "Hà Nội").  Everything here is a
pure function; the index only ever stores NFC Unicode.

Detection and repair decide by how Vietnamese a decoding looks: the share of
words that are valid Vietnamese syllables (onset + vowel nucleus + coda, one
tone, stop codas only with sắc/nặng) and the share of letters in the
Vietnamese alphabet.  ASCII-only words are ignored: every decoding agrees on
them.
"""
from __future__ import annotations

import re
import unicodedata
from itertools import islice

__all__ = [
    "LegacyDecodeError",
    "detect_bytes",
    "decode_bytes",
    "decode_legacy",
    "repair_text",
    "encode_legacy",
]

# Lowercase vowels, one row per vowel: plain, huyền, sắc, hỏi, ngã, nặng.
_VOWELS = "aàáảãạ ăằắẳẵặ âầấẩẫậ eèéẻẽẹ êềếểễệ iìíỉĩị oòóỏõọ ôồốổỗộ ơờớởỡợ uùúủũụ ưừứửữự yỳýỷỹỵ".split()

# --- VNI-Windows chart (lowercase half) -------------------------------------
# Marks are separate bytes after the base letter, shown as their cp1252 glyphs:
#   plain vowels (a e o u y, ơ=ô 0xF4, ư=ö 0xF6): ø F8 huyền, ù F9 sắc, û FB hỏi, õ F5 ngã, ï EF nặng
#   circumflex (â ê ô = base + â E2):           à E0, á E1, å E5, ã E3, ä E4
#   breve (ă = a + ê EA):                        è E8, é E9, ú FA, ü FC, ë EB
#   i and ỵ are single bytes: ì EC, í ED, æ E6 ỉ, ó F3 ĩ, ò F2 ị, î EE ỵ; đ = ñ F1.
# The uppercase half of the chart is this one shifted down by 0x20 byte for
# byte (A+Ø = À, Ñ = Đ, Ô = Ơ, Ö = Ư ...), which is exactly str.upper() here.
_VNI_LOWER = {
    "à": "aø", "á": "aù", "ả": "aû", "ã": "aõ", "ạ": "aï",
    "ă": "aê", "ằ": "aè", "ắ": "aé", "ẳ": "aú", "ẵ": "aü", "ặ": "aë",
    "â": "aâ", "ầ": "aà", "ấ": "aá", "ẩ": "aå", "ẫ": "aã", "ậ": "aä",
    "è": "eø", "é": "eù", "ẻ": "eû", "ẽ": "eõ", "ẹ": "eï",
    "ê": "eâ", "ề": "eà", "ế": "eá", "ể": "eå", "ễ": "eã", "ệ": "eä",
    "ì": "ì", "í": "í", "ỉ": "æ", "ĩ": "ó", "ị": "ò",
    "ò": "oø", "ó": "où", "ỏ": "oû", "õ": "oõ", "ọ": "oï",
    "ô": "oâ", "ồ": "oà", "ố": "oá", "ổ": "oå", "ỗ": "oã", "ộ": "oä",
    "ơ": "ô", "ờ": "ôø", "ớ": "ôù", "ở": "ôû", "ỡ": "ôõ", "ợ": "ôï",
    "ù": "uø", "ú": "uù", "ủ": "uû", "ũ": "uõ", "ụ": "uï",
    "ư": "ö", "ừ": "öø", "ứ": "öù", "ử": "öû", "ữ": "öõ", "ự": "öï",
    "ỳ": "yø", "ý": "yù", "ỷ": "yû", "ỹ": "yõ", "ỵ": "î",
    "đ": "ñ",
}

# --- TCVN3 (ABC / VN3) chart --------------------------------------------------
# One byte per lowercase letter; only Ă Â Ê Ô Ơ Ư Đ have uppercase forms.
# Uppercase toned letters are typed with the lowercase glyph, so they encode
# (and decode) as lowercase.
_TCVN3 = {
    "à": 0xB5, "á": 0xB8, "ả": 0xB6, "ã": 0xB7, "ạ": 0xB9,
    "ă": 0xA8, "ằ": 0xBB, "ắ": 0xBE, "ẳ": 0xBC, "ẵ": 0xBD, "ặ": 0xC6,
    "â": 0xA9, "ầ": 0xC7, "ấ": 0xCA, "ẩ": 0xC8, "ẫ": 0xC9, "ậ": 0xCB,
    "è": 0xCC, "é": 0xD0, "ẻ": 0xCE, "ẽ": 0xCF, "ẹ": 0xD1,
    "ê": 0xAA, "ề": 0xD2, "ế": 0xD5, "ể": 0xD3, "ễ": 0xD4, "ệ": 0xD6,
    "ì": 0xD7, "í": 0xDD, "ỉ": 0xD8, "ĩ": 0xDC, "ị": 0xDE,
    "ò": 0xDF, "ó": 0xE3, "ỏ": 0xE1, "õ": 0xE2, "ọ": 0xE4,
    "ô": 0xAB, "ồ": 0xE5, "ố": 0xE8, "ổ": 0xE6, "ỗ": 0xE7, "ộ": 0xE9,
    "ơ": 0xAC, "ờ": 0xEA, "ớ": 0xED, "ở": 0xEB, "ỡ": 0xEC, "ợ": 0xEE,
    "ù": 0xEF, "ú": 0xF3, "ủ": 0xF1, "ũ": 0xF2, "ụ": 0xF4,
    "ư": 0xAD, "ừ": 0xF5, "ứ": 0xF8, "ử": 0xF6, "ữ": 0xF7, "ự": 0xF9,
    "ỳ": 0xFA, "ý": 0xFD, "ỷ": 0xFB, "ỹ": 0xFC, "ỵ": 0xFE,
    "đ": 0xAE,
    "Ă": 0xA1, "Â": 0xA2, "Ê": 0xA3, "Ô": 0xA4, "Ơ": 0xA5, "Ư": 0xA6, "Đ": 0xA7,
}
# Slots VN3 leaves empty but full TCVN 5712:1993 (VN1) fills: a few uppercase
# letters and combining tone marks.  Decoded per the standard, never produced.
_TCVN3_VN1_EXTRA = {
    0xAF: "Ằ", 0xB0: "\u0300", 0xB1: "\u0309", 0xB2: "\u0303", 0xB3: "\u0301", 0xB4: "\u0323",
    0xBA: "Ẳ", 0xBF: "Ẵ", 0xC0: "Ắ", 0xC1: "Ầ", 0xC2: "Ẩ", 0xC3: "Ẫ", 0xC4: "Ấ", 0xC5: "Ề",
    0xCD: "Ể", 0xD9: "Ễ", 0xDA: "Ế", 0xDB: "Ồ", 0xE0: "Ổ", 0xF0: "Ỗ", 0xFF: "Ố",
}

_ENCODINGS = ("utf-8", "cp1258", "vni", "tcvn3")
_LEGACY = ("cp1258", "vni", "tcvn3")  # tie-break order: most specific table last


class LegacyDecodeError(UnicodeDecodeError):
    """No encoding fits: the bytes look like binary data, not text.

    A UnicodeDecodeError (hence ValueError) so ordinary handlers catch it.
    """

    def __init__(self, data: bytes, reason: str) -> None:
        super().__init__("vietnamese-legacy", data, 0, len(data), reason)


def _cp1252_char(byte: int) -> str:
    """The glyph Windows shows for a byte; latin-1 for the five cp1252 holes."""
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)


_CP1252 = "".join(_cp1252_char(b) for b in range(256))
_VNI = {**_VNI_LOWER, **{k.upper(): v.upper() for k, v in _VNI_LOWER.items()}}
# Decoding accepts a mark of the wrong case after a base letter (seen in
# hand-fixed title case); the base letter decides the case.
_VNI_DECODE = {v: k for k, v in _VNI.items()}
_VNI_DECODE.update({v[0] + v[1].swapcase(): k for k, v in _VNI.items() if len(v) == 2})
_VNI_PATTERN = re.compile(
    "|".join(re.escape(s) for s in sorted(_VNI_DECODE, key=len, reverse=True)) + "|[\x80-\xff]"
)
_VNI_BYTES = {ord(c) for s in _VNI.values() for c in s if ord(c) > 0x7F}
_TCVN3_DECODE = {b: ch for ch, b in _TCVN3.items()} | _TCVN3_VN1_EXTRA
_TCVN3_TRANSLATE = {b: _TCVN3_DECODE.get(b, _CP1252[b]) for b in range(0x80, 0x100)}


def _decode_vni(data: bytes) -> str:
    """Longest match over the chart; bytes that are no letter keep their cp1252 glyph."""

    def one(m: re.Match[str]) -> str:
        seq = m.group()
        return _VNI_DECODE[seq] if seq in _VNI_DECODE else _CP1252[ord(seq)]

    return _VNI_PATTERN.sub(one, data.decode("latin-1"))


def _decode(data: bytes, encoding: str) -> str:
    """Lenient decoding (never raises) so that every candidate can be scored."""
    if encoding == "utf-8":
        text = data.decode("utf-8")
    elif encoding == "cp1258":
        text = data.decode("cp1258", errors="replace")
    elif encoding == "vni":
        text = _decode_vni(data)
    else:
        text = data.decode("latin-1").translate(_TCVN3_TRANSLATE)
    return unicodedata.normalize("NFC", text)


# --- Is this Vietnamese? ------------------------------------------------------
_TONE_MARKS = {"\u0300": "huyền", "\u0301": "sắc", "\u0303": "ngã", "\u0309": "hỏi", "\u0323": "nặng"}
_BASE_LETTERS = set("abcdeghiklmnopqrstuvxyăâđêôơư")
_VN_LETTERS = {c for row in _VOWELS for c in row + row.upper()} | set("đĐ")
_ONSETS = "ngh ng gh gi kh nh ph th tr ch qu b c d đ g h k l m n p r s t v x".split() + [""]
_CODAS = ["ch", "nh", "ng", "c", "m", "n", "p", "t", ""]
_GLIDE_END = set(
    "ai ao au ay âu ây eo êu iu oi ôi ơi ui ưi ưu iêu yêu oai oay oao oeo uây uôi ươi ươu uyu".split()
)
_NUCLEI = _GLIDE_END | set(
    "a ă â e ê i o ô ơ u ư y ia iê oa oă oe oo ua uâ uê uô uơ uy ưa ươ yê uya uyê".split()
)
_NO_CODA = _GLIDE_END | {"ia", "ua", "ưa", "uơ", "uya"}
_NEEDS_CODA = {"ă", "â", "iê", "yê", "uô", "ươ", "uyê", "oă", "uâ", "oo"}
_SAMPLE_WORDS = 2000
_TOKEN = re.compile(r"[^\s\x00-\x40\x5b-\x60\x7b-\x7f\u2000-\u206f]+")


def _is_syllable(word: str) -> bool:
    """Onset + nucleus + coda with at most one tone, placed on the nucleus."""
    bases, tone, tone_at = [], None, -1
    for i, ch in enumerate(unicodedata.normalize("NFC", word.lower())):
        parts = unicodedata.normalize("NFD", ch)
        marks = [m for m in parts[1:] if m in _TONE_MARKS]
        if marks:
            if tone or len(marks) > 1:
                return False
            tone, tone_at = _TONE_MARKS[marks[0]], i
        base = unicodedata.normalize("NFC", "".join(m for m in parts if m not in _TONE_MARKS))
        if base not in _BASE_LETTERS:
            return False
        bases.append(base)
    s = "".join(bases)
    for onset in _ONSETS:
        if not s.startswith(onset):
            continue
        for coda in _CODAS:
            nucleus = s[len(onset) : len(s) - len(coda)]
            if not s.endswith(coda) or nucleus not in _NUCLEI:
                continue
            if (coda and nucleus in _NO_CODA) or (not coda and nucleus in _NEEDS_CODA):
                continue
            if coda in ("c", "ch", "p", "t") and tone not in ("sắc", "nặng"):
                continue
            if onset in ("k", "gh", "ngh") and nucleus[0] not in "eêiy":
                continue
            if onset in ("c", "ng") and nucleus[0] in "eêiy":
                continue
            if tone and not len(onset) <= tone_at < len(onset) + len(nucleus):
                continue
            if tone and nucleus in _GLIDE_END and tone_at == len(onset) + len(nucleus) - 1:
                continue
            return True
    return False


def _vietnamese_score(text: str) -> float | None:
    """0..1: mostly the share of non-ASCII words that are syllables; None if no such word.

    A sample of the first _SAMPLE_WORDS such words is plenty to tell encodings apart.
    """
    tokens = (m.group() for m in _TOKEN.finditer(text))
    words = list(islice((w for w in tokens if not w.isascii()), _SAMPLE_WORDS))
    if not words:
        return None
    chars = [c for w in words for c in w if not c.isascii()]
    syllables = sum(_is_syllable(w) for w in words) / len(words)
    letters = sum(c in _VN_LETTERS for c in chars) / len(chars)
    return 0.75 * syllables + 0.25 * letters


_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f\ufffd]")


def _control_share(text: str) -> float:
    """Share of characters no text file contains (binary data, undecodable bytes)."""
    return len(_CONTROL.findall(text)) / max(len(text), 1)


def _best_legacy(data: bytes) -> tuple[str, str, float | None]:
    """(encoding, text, score) of the most Vietnamese-looking legacy decoding."""
    best: tuple[str, str, float | None] | None = None
    for enc in _LEGACY:
        text = _decode(data, enc)
        score = _vietnamese_score(text)
        if best is None or (score or 0.0) > (best[2] or 0.0):
            best = (enc, text, score)
    assert best is not None
    return best


def _detect(data: bytes) -> tuple[str, str]:
    try:
        utf8 = data.decode("utf-8")
    except UnicodeDecodeError:
        utf8 = None
    if utf8 is not None:
        if _control_share(utf8) > 0.02:
            raise LegacyDecodeError(data, "control characters: binary data, not text")
        score = _vietnamese_score(utf8)
        if utf8.isascii() or score is None or score >= 0.5:
            return "utf-8", unicodedata.normalize("NFC", utf8)
        enc, text, legacy = _best_legacy(data)
        if legacy is not None and legacy >= 0.9 and legacy >= score + 0.3:
            return enc, text
        return "utf-8", unicodedata.normalize("NFC", utf8)
    enc, text, score = _best_legacy(data)
    # Real legacy Vietnamese scores above 0.9; random high bytes and Western
    # European cp1252 text stay below 0.45.
    if _control_share(text) > 0.02 or (score is not None and score < 0.5):
        raise LegacyDecodeError(data, "no encoding gives Vietnamese text")
    return enc, text


def detect_bytes(data: bytes) -> str:
    """Name the encoding of a document: "utf-8", "cp1258", "vni" or "tcvn3".

    UTF-8 wins when it decodes cleanly (legacy Vietnamese practically never
    does); otherwise the decoding with the most valid Vietnamese syllables.
    Raises LegacyDecodeError for binary data, and for non-UTF-8 bytes that
    read as Vietnamese in none of the legacy encodings.
    """
    return _detect(data)[0]


def decode_bytes(data: bytes) -> str:
    """Decode a document in whatever encoding it came in, to NFC Unicode.

    Raises LegacyDecodeError when nothing yields text (binary garbage).
    """
    return _detect(data)[1]


def decode_legacy(data: bytes, encoding: str) -> str:
    """Decode bytes whose encoding is already known (e.g. from a source's metadata), to NFC.

    Bytes outside the chart keep their cp1252 glyph rather than failing, as
    the legacy fonts would have shown them.
    """
    if encoding not in _ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; expected one of {_ENCODINGS}")
    return _decode(data, encoding)


def _mojibake_bytes(text: str) -> bytes | None:
    """Recover the bytes behind cp1252/latin-1 mojibake; None if text can't be that."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1252")
        except UnicodeEncodeError:
            if ord(ch) > 0xFF:
                return None
            out.append(ord(ch))
    return bytes(out)


def repair_text(text: str) -> str:
    """Undo VNI/TCVN3/cp1258 mojibake in pasted text, e.g. "Hµ Néi" -> "Hà Nội".

    Conservative: converts (and returns NFC) only when a legacy reading of the
    text's non-ASCII words is almost all valid Vietnamese syllables and clearly
    more Vietnamese than the text as given.
    Anything else, including genuine Unicode, English and codes such as
    "03-CT/TW", comes back unchanged (identical object, not re-normalized).
    """
    if not text or text.isascii():
        return text
    raw = _mojibake_bytes(text)
    if raw is None:
        return text
    before = _vietnamese_score(text)
    if before is None:
        return text
    _enc, fixed, after = _best_legacy(raw)
    if after is not None and after >= 0.9 and after - before >= 0.3:
        return fixed
    return text


def _encode_cp1258(text: str) -> bytes:
    """cp1258 has â ê ô ă ơ ư (and a few toned letters) precomposed; other tones combine."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            tones = "".join(m for m in parts if m in _TONE_MARKS)
            base = unicodedata.normalize("NFC", "".join(m for m in parts if m not in _TONE_MARKS))
            out += base.encode("cp1258") + tones.encode("cp1258")
    return bytes(out)


def encode_legacy(text: str, encoding: str) -> bytes:
    """Produce legacy bytes ("vni", "tcvn3" or "cp1258") for tools and tests.

    TCVN3 has no uppercase toned letters: they are written lowercase, as VN3
    fonts do.  Characters outside the chart (other than ASCII and cp1252
    punctuation in bytes the chart leaves free) raise ValueError.
    """
    text = unicodedata.normalize("NFC", text)
    if encoding == "cp1258":
        try:
            return _encode_cp1258(text)
        except UnicodeEncodeError as exc:
            raise ValueError(f"cannot encode {exc.object[exc.start:exc.end]!r} in cp1258") from exc
    if encoding not in ("vni", "tcvn3"):
        raise ValueError(f"unknown legacy encoding {encoding!r}")
    out = bytearray()
    for ch in text:
        if ch.isascii():
            out.append(ord(ch))
        elif encoding == "vni" and ch in _VNI:
            out += _VNI[ch].encode("latin-1")
        elif encoding == "tcvn3" and (ch in _TCVN3 or ch.lower() in _TCVN3):
            out.append(_TCVN3[ch] if ch in _TCVN3 else _TCVN3[ch.lower()])
        else:
            byte = _CP1252.find(ch)
            free = byte not in _VNI_BYTES if encoding == "vni" else byte not in _TCVN3_DECODE
            if byte < 0x80 or not free:
                raise ValueError(f"cannot encode {ch!r} in {encoding}")
            out.append(byte)
    return bytes(out)
