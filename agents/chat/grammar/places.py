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
from dataclasses import dataclass
from functools import cache

from agents.chat.grammar.text import Text
from tools.geo import PLACES, PROVINCES, Place, Province, find_place, find_province, normalise

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


@cache
def _pattern() -> re.Pattern[str]:
    """Every name of ``tools.geo``'s tables (and its 市/省 form) as one alternation, longest first."""
    lengths: dict[str, int] = {}
    for place in PLACES:
        names: tuple[str, ...] = (*place.names, place.name_zh + "市")
        lengths.update((_name_pattern(name), len(normalise(name))) for name in names if _scannable(name))
    for province in PROVINCES:
        names = (*province.names, province.name_zh + "省") if province.kind == "province" else province.names
        lengths.update((_name_pattern(name), len(normalise(name))) for name in names if _scannable(name))
    return re.compile("|".join(sorted(lengths, key=lambda p: (-lengths[p], p))))


def _scannable(name: str) -> bool:
    return not (len(name) == 1 and _CJK.match(name))


def _name_pattern(name: str) -> str:
    if _CJK.search(name):
        return re.escape(name)
    parts = [re.escape(normalise(part)) for part in _SEPARATORS.split(name) if normalise(part)]
    return r"(?<![a-z0-9])" + r"[\s'’\-.]*".join(parts) + r"(?![a-z0-9])"


def scan(text: str) -> list[tuple[int, int, PlaceRef]]:
    """Every place named in ``text`` (already case-folded and accent-free), left to right, longest match."""
    found = []
    for match in _pattern().finditer(text):
        ref = lookup(match.group())
        if ref is not None:
            found.append((match.start(), match.end(), ref))
    return found


def replace(text: Text) -> list[PlaceRef]:
    """Replace every place named in ``text`` by one private-use character; return them in order.

    The n-th place becomes ``chr(0xE000 + n)``: later rules see one opaque
    symbol (no digits inside 三亚, no word "nice" inside a name) and can tell
    which place stood there.
    """
    found: list[PlaceRef] = []

    def mark(match: re.Match[str]) -> str:
        ref = lookup(match.group())
        if ref is None or len(found) > 0xFF:  # MARK has room for 256 places; the parser refuses longer text
            return match.group()
        found.append(ref)
        return chr(PLACEHOLDER + len(found) - 1)

    text.sub(_pattern(), mark)
    return found


def lookup(text: str) -> PlaceRef | None:
    """The place a whole answer (or a name found by ``scan``) names ("上海", "沪", "Shanghai city"), or None.

    A name of both a city and a province is both (Beijing, Jilin), unless the city
    merely shares a spelling with another province: then the city wins.
    """
    city, province = find_place(text), find_province(text)
    if city is None and province is None:
        return None
    if city is not None and province is not None and city.province != province.name:
        province = None
    return PlaceRef(city=city, province=province)
