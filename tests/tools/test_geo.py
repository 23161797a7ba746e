"""The place table: coverage, consistency and the look-up contract."""

from __future__ import annotations

import zoneinfo

import pytest

from tools import geo
from tools.geo import PLACES, PROVINCES, find_place, find_province

PROVINCIAL_CAPITALS_ZH = [
    "北京",
    "天津",
    "上海",
    "重庆",
    "石家庄",
    "太原",
    "呼和浩特",
    "沈阳",
    "长春",
    "哈尔滨",
    "南京",
    "杭州",
    "合肥",
    "福州",
    "南昌",
    "济南",
    "郑州",
    "武汉",
    "长沙",
    "广州",
    "南宁",
    "海口",
    "成都",
    "贵阳",
    "昆明",
    "拉萨",
    "西安",
    "兰州",
    "西宁",
    "银川",
    "乌鲁木齐",
]


def test_table_covers_100_chinese_cities_50_capitals_and_31_provinces() -> None:
    chinese = [p for p in PLACES if p.country == "CN"]
    assert len(chinese) >= 100
    assert len([p for p in PLACES if p.country != "CN"]) >= 50
    assert len(PROVINCES) == 31
    assert len({p.code for p in PROVINCES}) == 31


def test_every_provincial_capital_is_in_its_province() -> None:
    for zh in PROVINCIAL_CAPITALS_ZH:
        place = find_place(zh)
        assert place is not None, zh
        assert geo.province_of(place) is not None, zh
    assert {geo.province_of(find_place(zh)).code for zh in PROVINCIAL_CAPITALS_ZH} == {p.code for p in PROVINCES}


def test_every_place_has_valid_coordinates_timezone_and_unique_names() -> None:
    seen: set[str] = set()
    for place in PLACES:
        assert -90 <= place.lat <= 90, place
        assert -180 <= place.lon <= 180, place
        zoneinfo.ZoneInfo(place.tz)
        assert (place.province is None) == (place.country != "CN"), place
        assert place.slug not in seen
        seen.add(place.slug)
        assert find_place(place.name) is place
        assert find_place(place.name_zh) is place


def test_chinese_city_coordinates_lie_inside_china() -> None:
    for place in PLACES:
        if place.country == "CN":
            assert 18 <= place.lat <= 54, place
            assert 73 <= place.lon <= 135, place


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Beijing", "Beijing"),
        ("beijing", "Beijing"),
        ("  BEIJING ", "Beijing"),
        ("Peking", "Beijing"),
        ("北京", "Beijing"),
        ("北京市", "Beijing"),
        ("申城", "Shanghai"),
        ("上海市", "Shanghai"),
        ("Xi'an", "Xi'an"),
        ("xian", "Xi'an"),
        ("Ürümqi", "Urumqi"),
        ("乌鲁木齐市", "Urumqi"),
        ("mexico city", "Mexico City"),
        ("Brasilia", "Brasília"),
        ("香港特别行政区", "Hong Kong"),
        ("Canton", "Guangzhou"),
        ("Hong\nKong", "Hong Kong"),  # any whitespace, as the chat's scanner allows between the parts of a name
    ],
)
def test_find_place_matches_english_chinese_and_aliases(text: str, expected: str) -> None:
    place = find_place(text)
    assert place is not None
    assert place.name == expected


@pytest.mark.parametrize("text", ["", "   ", "Atlantis", "火星市", "市"])
def test_find_place_returns_none_for_unknown_names(text: str) -> None:
    assert find_place(text) is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Guangdong", "GD"),
        ("广东省", "GD"),
        ("广东", "GD"),
        ("广西壮族自治区", "GX"),
        ("新疆", "XJ"),
        ("Tibet", "XZ"),
        ("Xizang", "XZ"),
        ("shaanxi", "SN"),
        ("Shanxi", "SX"),
        ("上海市", "SH"),
        ("Hebei Province", "HE"),
    ],
)
def test_find_province_matches_english_chinese_and_suffixes(text: str, code: str) -> None:
    province = find_province(text)
    assert province is not None
    assert province.code == code


def test_find_province_does_not_resolve_a_city() -> None:
    assert find_province("Shenzhen") is None


def test_places_are_immutable() -> None:
    with pytest.raises(AttributeError):
        PLACES[0].lat = 0.0  # type: ignore[misc]


def test_index_refuses_a_name_claimed_twice() -> None:
    a = geo.Place(name="A", name_zh="甲", country="XX", lat=0, lon=0, tz="UTC", aliases=("Same",))
    b = geo.Place(name="B", name_zh="乙", country="XX", lat=0, lon=0, tz="UTC", aliases=("same",))
    with pytest.raises(ValueError, match="claimed twice"):
        geo._build_index((a, b), {a: (a.name, *a.aliases), b: (b.name, *b.aliases)})
