"""Place names inside free text, from ``tools.geo``'s tables.

One compiled pattern, built once, holds every English and Chinese name and
alias, longest first, so at each position the longest name wins (东京 before 京,
"Jilin City" before "Jilin"). English names match whole words, case-insensitive,
with optional spaces, hyphens, dots and apostrophes between their parts ("xian",
"Xi'an", "hongkong"); Chinese names match anywhere. Single-character Chinese
aliases (京, 沪, 港 ...) are only accepted as a whole answer, never inside a
sentence, where they are ordinary characters.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from agents.chat.grammar.text import Text
from tools.geo import PLACES, PROVINCES, Place, Province, find_place, find_province

_SEPARATORS = re.compile(r"[\s'’\-.]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
PLACEHOLDER = 0xE000
MARK = "[\ue000-\ue0ff]"  # a pattern for "a place stood here" in the normalised text


@dataclass(frozen=True)
class PlaceRef:
    """A place named in the text: a city, a province, or both when they share the name (Beijing, Jilin)."""

    city: Place | None
    province: Province | None

    @property
    def name(self) -> str:
        """The canonical English name the tools take."""
        if self.city is not None:
            return self.city.name
        assert self.province is not None
        return self.province.name

    @property
    def in_mainland(self) -> bool:
        return self.province is not None or (self.city is not None and self.city.province is not None)


def _key(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return _SEPARATORS.sub("", plain)


def _names() -> dict[str, PlaceRef]:
    cities: dict[str, Place] = {}
    provinces: dict[str, Province] = {}
    for place in PLACES:
        for name in (place.name, place.name_zh, *place.aliases):
            cities[_key(name)] = place
        cities[_key(place.name_zh + "市")] = place
    for province in PROVINCES:
        for name in (province.name, province.name_zh, province.full_name_zh, *province.aliases):
            provinces[_key(name)] = province
        if province.kind == "province":
            provinces[_key(province.name_zh + "省")] = province
    refs: dict[str, PlaceRef] = {}
    for key in cities.keys() | provinces.keys():
        city, province = cities.get(key), provinces.get(key)
        if city is not None and province is not None and city.province != province.name:
            province = None  # a city alias that happens to spell another province: the city wins
        refs[key] = PlaceRef(city=city, province=province)
    return refs


@cache
def _index() -> tuple[re.Pattern[str], dict[str, PlaceRef]]:
    refs = _names()
    patterns: dict[str, int] = {}
    for place in PLACES:
        names: tuple[str, ...] = (place.name, place.name_zh, place.name_zh + "市", *place.aliases)
        patterns.update((_pattern(name), len(_key(name))) for name in names if _scannable(name))
    for province in PROVINCES:
        names = (province.name, province.name_zh, province.full_name_zh, province.name_zh + "省", *province.aliases)
        patterns.update((_pattern(name), len(_key(name))) for name in names if _scannable(name))
    ordered = sorted(patterns, key=lambda p: (-patterns[p], p))
    return re.compile("|".join(ordered)), refs


def _scannable(name: str) -> bool:
    return not (len(name) == 1 and _CJK.match(name))


def _pattern(name: str) -> str:
    if _CJK.search(name):
        return re.escape(name)
    parts = [re.escape(part) for part in _SEPARATORS.split(_key_spaced(name)) if part]
    return r"(?<![a-z0-9])" + r"[\s'’\-.]*".join(parts) + r"(?![a-z0-9])"


def _key_spaced(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def scan(text: str) -> list[tuple[int, int, PlaceRef]]:
    """Every place named in ``text`` (already case-folded and accent-free), left to right, longest match."""
    pattern, refs = _index()
    found = []
    for match in pattern.finditer(text):
        ref = refs.get(_key(match.group()))
        if ref is not None:
            found.append((match.start(), match.end(), ref))
    return found


def replace(text: Text) -> list[PlaceRef]:
    """Replace every place named in ``text`` by one private-use character; return them in order.

    The n-th place becomes ``chr(0xE000 + n)``: later rules see one opaque
    symbol (no digits inside 三亚, no word "nice" inside a name) and can tell
    which place stood there.
    """
    pattern, refs = _index()
    found: list[PlaceRef] = []

    def mark(match: re.Match[str]) -> str:
        ref = refs.get(_key(match.group()))
        if ref is None or len(found) > 0xFF:  # MARK has room for 256 places; the parser refuses longer text
            return match.group()
        found.append(ref)
        return chr(PLACEHOLDER + len(found) - 1)

    text.sub(pattern, mark)
    return found


def lookup(text: str) -> PlaceRef | None:
    """The place a whole answer names ("上海", "沪", "Shanghai city"), or None."""
    city, province = find_place(text), find_province(text)
    if city is None and province is None:
        return None
    if city is not None and province is not None and city.province != province.name:
        province = None
    return PlaceRef(city=city, province=province)
