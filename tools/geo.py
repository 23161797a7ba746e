"""A deterministic place table: Chinese cities, world capitals and China's 31 mainland provinces.

The tool servers (weather, fuel prices) and the chat parser resolve place names here,
so "Peking", "北京", "北京市" and "beijing" all name one :class:`Place`. No network,
no database: the tables below are the whole truth and never change at run time.

Contract of the look-ups:
- :func:`find_place` and :func:`find_province` are case-insensitive, ignore spaces,
  apostrophes, hyphens and accents ("Xi'an" == "xian", "Ürümqi" == "urumqi"), and
  accept Chinese names with or without their administrative suffix (市, 省, 自治区 ...).
  :func:`normalise` is that folding, and ``Place.names`` / ``Province.names`` the
  names each is indexed by, for callers that look for names inside longer text.
- A name resolves to at most one place; the index refuses to build if two places
  claim the same name (a test holds the tables to that).
- They return ``None`` for an unknown name; they never guess.

Mainland China uses one clock (UTC+8); every Chinese city carries
``Asia/Shanghai``, including Urumqi, whose informal local time is not official.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Province:
    """A mainland province-level division. ``code`` is its ISO 3166-2:CN code without ``CN-``."""

    code: str
    name: str
    name_zh: str  # short form, e.g. 广西
    full_name_zh: str  # official form, e.g. 广西壮族自治区
    kind: str  # province | municipality | autonomous region
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The names it is found by (besides its code): English, Chinese, official Chinese, aliases."""
        return (self.name, self.name_zh, self.full_name_zh, *self.aliases)


@dataclass(frozen=True)
class Place:
    """A city. ``province``/``province_zh`` are set for Chinese cities only."""

    name: str
    name_zh: str
    country: str  # ISO 3166-1 alpha-2
    lat: float
    lon: float
    tz: str  # IANA time zone
    province: str | None = None
    province_zh: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The names it is found by: English, Chinese, aliases."""
        return (self.name, self.name_zh, *self.aliases)

    @property
    def slug(self) -> str:
        """A stable ASCII key for caches and URLs, e.g. ``xian`` or ``mexico-city``."""
        return "-".join(normalise(part) for part in self.name.split())


# code, English, short Chinese, official Chinese, kind, aliases
_PROVINCE_ROWS: tuple[tuple[str, str, str, str, str, tuple[str, ...]], ...] = (
    ("BJ", "Beijing", "北京", "北京市", "municipality", ("Peking",)),
    ("TJ", "Tianjin", "天津", "天津市", "municipality", ("Tientsin",)),
    ("HE", "Hebei", "河北", "河北省", "province", ()),
    ("SX", "Shanxi", "山西", "山西省", "province", ()),
    ("NM", "Inner Mongolia", "内蒙古", "内蒙古自治区", "autonomous region", ("Nei Mongol", "Neimenggu")),
    ("LN", "Liaoning", "辽宁", "辽宁省", "province", ()),
    ("JL", "Jilin", "吉林", "吉林省", "province", ()),
    ("HL", "Heilongjiang", "黑龙江", "黑龙江省", "province", ()),
    ("SH", "Shanghai", "上海", "上海市", "municipality", ("沪",)),
    ("JS", "Jiangsu", "江苏", "江苏省", "province", ()),
    ("ZJ", "Zhejiang", "浙江", "浙江省", "province", ()),
    ("AH", "Anhui", "安徽", "安徽省", "province", ()),
    ("FJ", "Fujian", "福建", "福建省", "province", ()),
    ("JX", "Jiangxi", "江西", "江西省", "province", ()),
    ("SD", "Shandong", "山东", "山东省", "province", ()),
    ("HA", "Henan", "河南", "河南省", "province", ()),
    ("HB", "Hubei", "湖北", "湖北省", "province", ()),
    ("HN", "Hunan", "湖南", "湖南省", "province", ()),
    ("GD", "Guangdong", "广东", "广东省", "province", ("Canton Province",)),
    ("GX", "Guangxi", "广西", "广西壮族自治区", "autonomous region", ()),
    ("HI", "Hainan", "海南", "海南省", "province", ()),
    ("CQ", "Chongqing", "重庆", "重庆市", "municipality", ("Chungking",)),
    ("SC", "Sichuan", "四川", "四川省", "province", ("Szechuan", "Szechwan")),
    ("GZ", "Guizhou", "贵州", "贵州省", "province", ()),
    ("YN", "Yunnan", "云南", "云南省", "province", ()),
    ("XZ", "Tibet", "西藏", "西藏自治区", "autonomous region", ("Xizang",)),
    ("SN", "Shaanxi", "陕西", "陕西省", "province", ()),
    ("GS", "Gansu", "甘肃", "甘肃省", "province", ()),
    ("QH", "Qinghai", "青海", "青海省", "province", ()),
    ("NX", "Ningxia", "宁夏", "宁夏回族自治区", "autonomous region", ()),
    ("XJ", "Xinjiang", "新疆", "新疆维吾尔自治区", "autonomous region", ()),
)

# English, Chinese, province code, latitude, longitude, aliases.
# The 31 provincial capitals and municipalities first, then the largest other
# prefecture-level cities by urban population.
_CN_CITY_ROWS: tuple[tuple[str, str, str, float, float, tuple[str, ...]], ...] = (
    ("Beijing", "北京", "BJ", 39.904, 116.407, ("Peking", "北平", "京")),
    ("Tianjin", "天津", "TJ", 39.084, 117.201, ("Tientsin", "津")),
    ("Shijiazhuang", "石家庄", "HE", 38.042, 114.514, ()),
    ("Taiyuan", "太原", "SX", 37.870, 112.549, ()),
    ("Hohhot", "呼和浩特", "NM", 40.842, 111.749, ("Huhhot", "Huhehaote")),
    ("Shenyang", "沈阳", "LN", 41.806, 123.432, ("Mukden",)),
    ("Changchun", "长春", "JL", 43.817, 125.324, ()),
    ("Harbin", "哈尔滨", "HL", 45.803, 126.535, ("冰城",)),
    ("Shanghai", "上海", "SH", 31.230, 121.474, ("申城", "沪")),
    ("Nanjing", "南京", "JS", 32.060, 118.797, ("Nanking", "金陵")),
    ("Hangzhou", "杭州", "ZJ", 30.274, 120.155, ("Hangchow",)),
    ("Hefei", "合肥", "AH", 31.820, 117.227, ()),
    ("Fuzhou", "福州", "FJ", 26.075, 119.296, ("Foochow", "榕城")),
    ("Nanchang", "南昌", "JX", 28.682, 115.858, ()),
    ("Jinan", "济南", "SD", 36.651, 117.120, ("泉城",)),
    ("Zhengzhou", "郑州", "HA", 34.747, 113.625, ()),
    ("Wuhan", "武汉", "HB", 30.593, 114.305, ("江城",)),
    ("Changsha", "长沙", "HN", 28.228, 112.939, ("星城",)),
    ("Guangzhou", "广州", "GD", 23.129, 113.264, ("Canton", "羊城", "穗")),
    ("Nanning", "南宁", "GX", 22.817, 108.366, ("邕",)),
    ("Haikou", "海口", "HI", 20.044, 110.199, ()),
    ("Chongqing", "重庆", "CQ", 29.563, 106.551, ("Chungking", "山城", "渝")),
    ("Chengdu", "成都", "SC", 30.573, 104.066, ("蓉城", "蓉")),
    ("Guiyang", "贵阳", "GZ", 26.647, 106.630, ()),
    ("Kunming", "昆明", "YN", 24.880, 102.833, ("春城",)),
    ("Lhasa", "拉萨", "XZ", 29.650, 91.172, ()),
    ("Xi'an", "西安", "SN", 34.341, 108.940, ("Sian", "长安")),
    ("Lanzhou", "兰州", "GS", 36.061, 103.834, ()),
    ("Xining", "西宁", "QH", 36.617, 101.778, ()),
    ("Yinchuan", "银川", "NX", 38.487, 106.231, ()),
    ("Urumqi", "乌鲁木齐", "XJ", 43.825, 87.617, ("Wulumuqi",)),
    ("Shenzhen", "深圳", "GD", 22.543, 114.058, ("鹏城",)),
    ("Dongguan", "东莞", "GD", 23.021, 113.752, ()),
    ("Foshan", "佛山", "GD", 23.022, 113.122, ()),
    ("Shantou", "汕头", "GD", 23.354, 116.682, ("Swatow",)),
    ("Huizhou", "惠州", "GD", 23.112, 114.416, ()),
    ("Zhuhai", "珠海", "GD", 22.271, 113.577, ()),
    ("Zhongshan", "中山", "GD", 22.517, 113.393, ()),
    ("Jiangmen", "江门", "GD", 22.579, 113.082, ()),
    ("Zhanjiang", "湛江", "GD", 21.271, 110.359, ()),
    ("Maoming", "茂名", "GD", 21.663, 110.925, ()),
    ("Jieyang", "揭阳", "GD", 23.550, 116.373, ()),
    ("Zhaoqing", "肇庆", "GD", 23.047, 112.465, ()),
    ("Qingyuan", "清远", "GD", 23.682, 113.056, ()),
    ("Suzhou", "苏州", "JS", 31.299, 120.585, ("Soochow", "姑苏")),
    ("Wuxi", "无锡", "JS", 31.491, 120.312, ()),
    ("Changzhou", "常州", "JS", 31.811, 119.974, ()),
    ("Xuzhou", "徐州", "JS", 34.205, 117.285, ()),
    ("Nantong", "南通", "JS", 31.980, 120.894, ()),
    ("Yangzhou", "扬州", "JS", 32.394, 119.413, ()),
    ("Yancheng", "盐城", "JS", 33.347, 120.163, ()),
    ("Huai'an", "淮安", "JS", 33.610, 119.015, ()),
    ("Lianyungang", "连云港", "JS", 34.597, 119.222, ()),
    ("Zhenjiang", "镇江", "JS", 32.188, 119.425, ()),
    ("Ningbo", "宁波", "ZJ", 29.868, 121.544, ()),
    ("Wenzhou", "温州", "ZJ", 27.994, 120.699, ()),
    ("Shaoxing", "绍兴", "ZJ", 30.000, 120.580, ()),
    ("Jiaxing", "嘉兴", "ZJ", 30.746, 120.756, ()),
    ("Jinhua", "金华", "ZJ", 29.079, 119.647, ()),
    ("Taizhou", "台州", "ZJ", 28.656, 121.421, ()),
    ("Huzhou", "湖州", "ZJ", 30.894, 120.087, ()),
    ("Qingdao", "青岛", "SD", 36.067, 120.383, ("Tsingtao",)),
    ("Yantai", "烟台", "SD", 37.464, 121.448, ()),
    ("Weifang", "潍坊", "SD", 36.707, 119.162, ()),
    ("Linyi", "临沂", "SD", 35.104, 118.356, ()),
    ("Zibo", "淄博", "SD", 36.813, 118.055, ()),
    ("Jining", "济宁", "SD", 35.415, 116.587, ()),
    ("Tai'an", "泰安", "SD", 36.200, 117.088, ()),
    ("Weihai", "威海", "SD", 37.513, 122.121, ()),
    ("Dezhou", "德州", "SD", 37.436, 116.359, ()),
    ("Liaocheng", "聊城", "SD", 36.457, 115.985, ()),
    ("Heze", "菏泽", "SD", 35.234, 115.481, ()),
    ("Zaozhuang", "枣庄", "SD", 34.810, 117.323, ()),
    ("Rizhao", "日照", "SD", 35.417, 119.527, ()),
    ("Binzhou", "滨州", "SD", 37.382, 117.971, ()),
    ("Luoyang", "洛阳", "HA", 34.620, 112.454, ()),
    ("Nanyang", "南阳", "HA", 32.991, 112.528, ()),
    ("Xinxiang", "新乡", "HA", 35.303, 113.927, ()),
    ("Shangqiu", "商丘", "HA", 34.414, 115.656, ()),
    ("Zhoukou", "周口", "HA", 33.626, 114.697, ()),
    ("Xinyang", "信阳", "HA", 32.147, 114.091, ()),
    ("Anyang", "安阳", "HA", 36.098, 114.393, ()),
    ("Kaifeng", "开封", "HA", 34.797, 114.307, ()),
    ("Pingdingshan", "平顶山", "HA", 33.766, 113.193, ()),
    ("Zhumadian", "驻马店", "HA", 33.011, 114.022, ()),
    ("Tangshan", "唐山", "HE", 39.630, 118.180, ()),
    ("Baoding", "保定", "HE", 38.874, 115.465, ()),
    ("Handan", "邯郸", "HE", 36.625, 114.539, ()),
    ("Langfang", "廊坊", "HE", 39.538, 116.683, ()),
    ("Cangzhou", "沧州", "HE", 38.304, 116.839, ()),
    ("Xingtai", "邢台", "HE", 37.070, 114.505, ()),
    ("Qinhuangdao", "秦皇岛", "HE", 39.935, 119.600, ()),
    ("Zhangjiakou", "张家口", "HE", 40.824, 114.887, ()),
    ("Dalian", "大连", "LN", 38.914, 121.615, ()),
    ("Anshan", "鞍山", "LN", 41.108, 122.994, ()),
    ("Fushun", "抚顺", "LN", 41.880, 123.957, ()),
    ("Jinzhou", "锦州", "LN", 41.095, 121.127, ()),
    ("Jilin", "吉林", "JL", 43.838, 126.550, ("Jilin City", "Kirin")),
    ("Daqing", "大庆", "HL", 46.589, 125.104, ()),
    ("Qiqihar", "齐齐哈尔", "HL", 47.354, 123.918, ()),
    ("Wuhu", "芜湖", "AH", 31.353, 118.433, ()),
    ("Bengbu", "蚌埠", "AH", 32.916, 117.389, ()),
    ("Fuyang", "阜阳", "AH", 32.890, 115.814, ()),
    ("Anqing", "安庆", "AH", 30.543, 117.064, ()),
    ("Xiamen", "厦门", "FJ", 24.480, 118.089, ("Amoy", "鹭岛")),
    ("Quanzhou", "泉州", "FJ", 24.874, 118.676, ()),
    ("Zhangzhou", "漳州", "FJ", 24.513, 117.647, ()),
    ("Putian", "莆田", "FJ", 25.454, 119.008, ()),
    ("Ganzhou", "赣州", "JX", 25.831, 114.935, ()),
    ("Jiujiang", "九江", "JX", 29.705, 116.002, ()),
    ("Shangrao", "上饶", "JX", 28.454, 117.943, ()),
    ("Yichang", "宜昌", "HB", 30.692, 111.286, ()),
    ("Xiangyang", "襄阳", "HB", 32.009, 112.122, ()),
    ("Jingzhou", "荆州", "HB", 30.335, 112.240, ()),
    ("Zhuzhou", "株洲", "HN", 27.827, 113.134, ()),
    ("Hengyang", "衡阳", "HN", 26.894, 112.572, ()),
    ("Yueyang", "岳阳", "HN", 29.357, 113.129, ()),
    ("Changde", "常德", "HN", 29.032, 111.699, ()),
    ("Xiangtan", "湘潭", "HN", 27.829, 112.944, ()),
    ("Liuzhou", "柳州", "GX", 24.326, 109.428, ()),
    ("Guilin", "桂林", "GX", 25.274, 110.290, ("Kweilin",)),
    ("Yulin", "玉林", "GX", 22.654, 110.181, ()),
    ("Sanya", "三亚", "HI", 18.253, 109.512, ()),
    ("Mianyang", "绵阳", "SC", 31.468, 104.679, ()),
    ("Nanchong", "南充", "SC", 30.837, 106.111, ()),
    ("Yibin", "宜宾", "SC", 28.752, 104.643, ()),
    ("Luzhou", "泸州", "SC", 28.871, 105.442, ()),
    ("Zunyi", "遵义", "GZ", 27.726, 106.927, ()),
    ("Qujing", "曲靖", "YN", 25.490, 103.796, ()),
    ("Baoji", "宝鸡", "SN", 34.362, 107.238, ()),
    ("Xianyang", "咸阳", "SN", 34.329, 108.709, ()),
    ("Datong", "大同", "SX", 40.077, 113.300, ()),
    ("Changzhi", "长治", "SX", 36.195, 113.117, ()),
    ("Baotou", "包头", "NM", 40.657, 109.840, ()),
    ("Ordos", "鄂尔多斯", "NM", 39.609, 109.781, ("Erdos",)),
    ("Chifeng", "赤峰", "NM", 42.257, 118.888, ()),
    ("Tianshui", "天水", "GS", 34.581, 105.725, ()),
    ("Karamay", "克拉玛依", "XJ", 45.580, 84.889, ()),
    ("Shigatse", "日喀则", "XZ", 29.267, 88.881, ("Xigaze",)),
)

# English, Chinese, country, latitude, longitude, time zone, aliases.
_WORLD_ROWS: tuple[tuple[str, str, str, float, float, str, tuple[str, ...]], ...] = (
    ("Hong Kong", "香港", "HK", 22.319, 114.169, "Asia/Hong_Kong", ("Xianggang", "港")),
    ("Tokyo", "东京", "JP", 35.690, 139.692, "Asia/Tokyo", ("東京",)),
    ("Seoul", "首尔", "KR", 37.567, 126.978, "Asia/Seoul", ("汉城",)),
    ("Pyongyang", "平壤", "KP", 39.039, 125.763, "Asia/Pyongyang", ()),
    ("Ulaanbaatar", "乌兰巴托", "MN", 47.886, 106.906, "Asia/Ulaanbaatar", ("Ulan Bator",)),
    ("Hanoi", "河内", "VN", 21.028, 105.854, "Asia/Ho_Chi_Minh", ()),
    ("Bangkok", "曼谷", "TH", 13.756, 100.502, "Asia/Bangkok", ()),
    ("Vientiane", "万象", "LA", 17.975, 102.633, "Asia/Vientiane", ()),
    ("Phnom Penh", "金边", "KH", 11.556, 104.928, "Asia/Phnom_Penh", ()),
    ("Kuala Lumpur", "吉隆坡", "MY", 3.139, 101.687, "Asia/Kuala_Lumpur", ()),
    ("Singapore", "新加坡", "SG", 1.352, 103.820, "Asia/Singapore", ("狮城",)),
    ("Jakarta", "雅加达", "ID", -6.208, 106.846, "Asia/Jakarta", ()),
    ("Manila", "马尼拉", "PH", 14.600, 120.984, "Asia/Manila", ()),
    ("New Delhi", "新德里", "IN", 28.614, 77.209, "Asia/Kolkata", ("Delhi",)),
    ("Islamabad", "伊斯兰堡", "PK", 33.684, 73.048, "Asia/Karachi", ()),
    ("Kathmandu", "加德满都", "NP", 27.717, 85.324, "Asia/Kathmandu", ()),
    ("Dhaka", "达卡", "BD", 23.810, 90.413, "Asia/Dhaka", ()),
    ("Tehran", "德黑兰", "IR", 35.689, 51.389, "Asia/Tehran", ()),
    ("Riyadh", "利雅得", "SA", 24.713, 46.675, "Asia/Riyadh", ()),
    ("Abu Dhabi", "阿布扎比", "AE", 24.454, 54.377, "Asia/Dubai", ()),
    ("Ankara", "安卡拉", "TR", 39.934, 32.860, "Europe/Istanbul", ()),
    ("Astana", "阿斯塔纳", "KZ", 51.169, 71.449, "Asia/Almaty", ()),
    ("Tashkent", "塔什干", "UZ", 41.299, 69.240, "Asia/Tashkent", ()),
    ("Moscow", "莫斯科", "RU", 55.756, 37.617, "Europe/Moscow", ("Moskva",)),
    ("London", "伦敦", "GB", 51.507, -0.128, "Europe/London", ()),
    ("Paris", "巴黎", "FR", 48.857, 2.352, "Europe/Paris", ()),
    ("Berlin", "柏林", "DE", 52.520, 13.405, "Europe/Berlin", ()),
    ("Madrid", "马德里", "ES", 40.417, -3.704, "Europe/Madrid", ()),
    ("Rome", "罗马", "IT", 41.903, 12.496, "Europe/Rome", ("Roma",)),
    ("Lisbon", "里斯本", "PT", 38.722, -9.139, "Europe/Lisbon", ("Lisboa",)),
    ("Amsterdam", "阿姆斯特丹", "NL", 52.368, 4.904, "Europe/Amsterdam", ()),
    ("Brussels", "布鲁塞尔", "BE", 50.850, 4.352, "Europe/Brussels", ("Bruxelles",)),
    ("Vienna", "维也纳", "AT", 48.208, 16.373, "Europe/Vienna", ("Wien",)),
    ("Bern", "伯尔尼", "CH", 46.948, 7.447, "Europe/Zurich", ("Berne",)),
    ("Stockholm", "斯德哥尔摩", "SE", 59.329, 18.069, "Europe/Stockholm", ()),
    ("Oslo", "奥斯陆", "NO", 59.914, 10.752, "Europe/Oslo", ()),
    ("Copenhagen", "哥本哈根", "DK", 55.676, 12.568, "Europe/Copenhagen", ("København",)),
    ("Helsinki", "赫尔辛基", "FI", 60.170, 24.938, "Europe/Helsinki", ()),
    ("Warsaw", "华沙", "PL", 52.230, 21.012, "Europe/Warsaw", ("Warszawa",)),
    ("Athens", "雅典", "GR", 37.984, 23.728, "Europe/Athens", ()),
    ("Kyiv", "基辅", "UA", 50.450, 30.524, "Europe/Kyiv", ("Kiev",)),
    ("Cairo", "开罗", "EG", 30.044, 31.236, "Africa/Cairo", ()),
    ("Nairobi", "内罗毕", "KE", -1.292, 36.822, "Africa/Nairobi", ()),
    ("Pretoria", "比勒陀利亚", "ZA", -25.747, 28.229, "Africa/Johannesburg", ("Tshwane",)),
    ("Abuja", "阿布贾", "NG", 9.076, 7.399, "Africa/Lagos", ()),
    ("Addis Ababa", "亚的斯亚贝巴", "ET", 9.030, 38.740, "Africa/Addis_Ababa", ()),
    ("Washington", "华盛顿", "US", 38.907, -77.037, "America/New_York", ("Washington DC", "Washington D.C.")),
    ("Ottawa", "渥太华", "CA", 45.422, -75.697, "America/Toronto", ()),
    ("Mexico City", "墨西哥城", "MX", 19.433, -99.133, "America/Mexico_City", ("Ciudad de México",)),
    ("Brasília", "巴西利亚", "BR", -15.794, -47.882, "America/Sao_Paulo", ()),
    ("Buenos Aires", "布宜诺斯艾利斯", "AR", -34.604, -58.382, "America/Argentina/Buenos_Aires", ()),
    ("Santiago", "圣地亚哥", "CL", -33.449, -70.669, "America/Santiago", ()),
    ("Lima", "利马", "PE", -12.046, -77.043, "America/Lima", ()),
    ("Bogotá", "波哥大", "CO", 4.711, -74.072, "America/Bogota", ()),
    ("Canberra", "堪培拉", "AU", -35.281, 149.130, "Australia/Sydney", ()),
    ("Wellington", "惠灵顿", "NZ", -41.287, 174.776, "Pacific/Auckland", ()),
)

PROVINCES: tuple[Province, ...] = tuple(Province(*row) for row in _PROVINCE_ROWS)
_PROVINCE_BY_CODE = {p.code: p for p in PROVINCES}

PLACES: tuple[Place, ...] = tuple(
    Place(
        name=name,
        name_zh=zh,
        country="CN",
        lat=lat,
        lon=lon,
        tz="Asia/Shanghai",
        province=_PROVINCE_BY_CODE[code].name,
        province_zh=_PROVINCE_BY_CODE[code].name_zh,
        aliases=aliases,
    )
    for name, zh, code, lat, lon, aliases in _CN_CITY_ROWS
) + tuple(
    Place(name=name, name_zh=zh, country=cc, lat=lat, lon=lon, tz=tz, aliases=aliases)
    for name, zh, cc, lat, lon, tz, aliases in _WORLD_ROWS
)

# Administrative suffixes, longest first so 维吾尔自治区 wins over 自治区.
_CITY_SUFFIXES = ("特别行政区", "市", "city", "shi")
_PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市", "province", "sheng")
_IGNORED = set(" \t'’‘-_.,·")


def normalise(text: str) -> str:
    """Case-folded, accent-free, without spaces and punctuation: the key both tables are indexed by."""
    decomposed = unicodedata.normalize("NFKD", text.strip())
    kept = (ch for ch in decomposed if not (unicodedata.combining(ch) or ch.isspace() or ch in _IGNORED))
    return "".join(kept).casefold()


def _strip_suffix(key: str, suffixes: tuple[str, ...]) -> str | None:
    for suffix in suffixes:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)]
    return None


def _build_index(items: tuple[object, ...], names: dict[object, tuple[str, ...]]) -> dict[str, object]:
    index: dict[str, object] = {}
    for item in items:
        for name in names[item]:
            key = normalise(name)
            if index.setdefault(key, item) is not item:
                raise ValueError(f"place name {name!r} is claimed twice")
    return index


@cache
def _place_index() -> dict[str, Place]:
    names = {p: p.names for p in PLACES}
    return _build_index(PLACES, names)  # type: ignore[arg-type,return-value]


@cache
def _province_index() -> dict[str, Province]:
    names = {p: (p.code, *p.names) for p in PROVINCES}
    return _build_index(PROVINCES, names)  # type: ignore[arg-type,return-value]


def _find(text: str, index: dict[str, object], suffixes: tuple[str, ...]) -> object | None:
    key = normalise(text)
    if not key:
        return None
    if key in index:
        return index[key]
    stripped = _strip_suffix(key, suffixes)
    return index.get(stripped) if stripped else None


def find_place(text: str) -> Place | None:
    """The place named ``text`` (English, Chinese or alias; 市 optional), or ``None``."""
    return _find(text, _place_index(), _CITY_SUFFIXES)  # type: ignore[arg-type,return-value]


def find_province(text: str) -> Province | None:
    """The mainland province named ``text`` (English, Chinese, ISO code; 省/自治区 optional), or ``None``."""
    return _find(text, _province_index(), _PROVINCE_SUFFIXES)  # type: ignore[arg-type,return-value]


def province_of(place: Place) -> Province | None:
    """The province a Chinese city belongs to (``None`` outside mainland China)."""
    return find_province(place.province) if place.province else None
