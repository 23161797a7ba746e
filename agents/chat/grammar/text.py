"""The normaliser: one utterance as a lower-case, half-width, Arabic-numeral string.

Every character of the normalised string remembers the span of the original it
came from, so a slot cut from the normalised text (a reminder's words) is
returned as the user typed it: "提醒我买三个苹果" keeps "三", "{{7*7}}" stays data.

Steps, in order (each one keeps the map):
1. per character: compatibility decomposition (full-width -> half-width), accents
   dropped, case folded;
2. place names replaced by one private-use character each (see ``places``), so
   numerals inside names (三亚, 九江, 万象) are never read as numbers;
3. 零下/负 before a number -> "-", Chinese numerals -> digits (二十 -> 20,
   一百五 -> 150, 两 -> 2), English number words -> digits, 星期/礼拜 -> 周.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

_CN_DIGITS = dict(zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_CN_RUN = re.compile("[零〇一二两三四五六七八九十百千万]+")
_EN_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "forty-five": 45,
    "fifty": 50,
}
_EN_RUN = re.compile(r"(?<![a-z-])(" + "|".join(sorted(_EN_NUMBERS, key=len, reverse=True)) + r")(?![a-z-])")


def chinese_number(run: str) -> int:
    """The value of a run of Chinese numerals: 二十五 -> 25, 一百零五 -> 105, 一百五 -> 150, 二零二六 -> 2026."""
    if all(ch in _CN_DIGITS for ch in run):
        return int("".join(str(_CN_DIGITS[ch]) for ch in run))
    total = section = 0
    digit: int | None = None
    last_unit = 1
    zero_gap = False
    for ch in run:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
            zero_gap = zero_gap or digit == 0
            continue
        unit = _CN_UNITS[ch]
        if unit == 10000:
            total += (section + (digit or 0)) * unit
            section = 0
        else:
            section += (1 if digit is None else digit) * unit  # 十 alone is 10
        digit, last_unit, zero_gap = None, unit, False
    if digit:
        # 一百五 is 150 and 三千二 is 3200, but 一百零五 is 105 and 十五 is 15.
        section += digit * (last_unit // 10 if last_unit >= 100 and not zero_gap else 1)
    return total + section


@dataclass
class Text:
    """A normalised string plus, for each of its characters, the original span it came from."""

    original: str
    norm: str = ""
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, original: str) -> Text:
        text = cls(original)
        chars: list[str] = []
        for index, ch in enumerate(original):
            decomposed = unicodedata.normalize("NFKD", ch)
            folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
            for out in folded:
                chars.append(out)
                text.starts.append(index)
                text.ends.append(index + 1)
        text.norm = "".join(chars)
        return text

    def sub(self, pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str]) -> None:
        """Replace every match of ``pattern``; the new characters map to the whole matched original span."""
        pieces: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        last = 0
        for match in pattern.finditer(self.norm):
            begin, end = match.span()
            if begin == end:
                continue
            pieces.append(self.norm[last:begin])
            starts.extend(self.starts[last:begin])
            ends.extend(self.ends[last:begin])
            new = replace(match)
            pieces.append(new)
            starts.extend([self.starts[begin]] * len(new))
            ends.extend([self.ends[end - 1]] * len(new))
            last = end
        pieces.append(self.norm[last:])
        starts.extend(self.starts[last:])
        ends.extend(self.ends[last:])
        self.norm, self.starts, self.ends = "".join(pieces), starts, ends

    def source(self, begin: int, end: int) -> str:
        """The original text behind the normalised span ``[begin, end)``."""
        if begin >= end:
            return ""
        return self.original[self.starts[begin] : self.ends[end - 1]]


_NEGATIVE = re.compile(r"(?:零下|负|minus\s+)(?=[\d零〇一二两三四五六七八九十])")
_WEEK = re.compile("星期|礼拜")
_WEEKDAY_DIGITS = dict(zip("一二三四五六日天", "12345677", strict=True))
_WEEKDAYS = re.compile("(?<=周)(?:[一二三四五六日]|天(?!气))(?:[,、和及与]?周?(?:[一二三四五六日]|天(?!气)))*")
_TRIM = re.compile(r"\s+")
_PUNCT = re.compile(r"[。，、！？；“”‘’「」《》]")
_PUNCT_MAP = {"。": ".", "，": ",", "、": ",", "！": "!", "？": "?", "；": ";"}


def numerals(text: Text) -> None:
    """Step 3 of the normaliser, after place names are out of the way."""
    text.sub(_PUNCT, lambda m: _PUNCT_MAP.get(m.group(), " "))
    text.sub(_WEEK, lambda m: "周")
    # 周一三五 is Monday, Wednesday, Friday (not 135), and 每周一8点 is not 每周18点.
    text.sub(_WEEKDAYS, lambda m: " ".join(_WEEKDAY_DIGITS[ch] for ch in m.group() if ch in _WEEKDAY_DIGITS) + " ")
    text.sub(_EN_RUN, lambda m: str(_EN_NUMBERS[m.group(1)]))
    text.sub(_NEGATIVE, lambda m: "-")
    text.sub(_CN_RUN, lambda m: str(chinese_number(m.group())))
    text.sub(_TRIM, lambda m: " ")


class Work:
    """The normalised string as extractors consume it: a taken match is blanked, positions never move."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.taken: list[tuple[int, int]] = []  # every blanked span, in order

    def take(self, pattern: re.Pattern[str], *, first: bool = False) -> list[re.Match[str]]:
        """Matches of ``pattern`` (only the first when ``first``), removed from the string."""
        matches = []
        for match in pattern.finditer(self.s):
            matches.append(match)
            if first:
                break
        for match in matches:
            self.blank(*match.span())
        return matches

    def take_one(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        found = self.take(pattern, first=True)
        return found[0] if found else None

    def blank(self, begin: int, end: int) -> None:
        self.s = self.s[:begin] + " " * (end - begin) + self.s[end:]
        self.taken.append((begin, end))

    @staticmethod
    def without(text: str, spans: list[tuple[int, int]]) -> str:
        """``text`` with only ``spans`` blanked."""
        work = Work(text)
        for begin, end in spans:
            work.blank(begin, end)
        return work.s
