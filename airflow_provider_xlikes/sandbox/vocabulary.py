"""The static tables the derived world draws from: names, words, hashtags, places, annotations."""

from __future__ import annotations

FIRST_NAMES: tuple[tuple[str, str], ...] = (
    ("Ada", "ada"),
    ("Zoë", "zoe"),
    ("José", "jose"),
    ("Mei", "mei"),
    ("Søren", "soren"),
    ("Aiko", "aiko"),
    ("Omar", "omar"),
    ("Priya", "priya"),
    ("Lena", "lena"),
    ("Kwame", "kwame"),
    ("Chloé", "chloe"),
    ("Ivan", "ivan"),
    ("Fatima", "fatima"),
    ("Luca", "luca"),
    ("Nia", "nia"),
    ("Mateo", "mateo"),
    ("Hana", "hana"),
    ("Tomás", "tomas"),
    ("Yara", "yara"),
    ("Erik", "erik"),
    ("Amara", "amara"),
    ("Jun", "jun"),
    ("Olga", "olga"),
    ("Ravi", "ravi"),
    ("Sofía", "sofia"),
    ("Noah", "noah"),
    ("Aylin", "aylin"),
    ("Kofi", "kofi"),
    ("Elif", "elif"),
    ("Diego", "diego"),
    ("Maya", "maya"),
    ("Björn", "bjorn"),
    ("さくら", "sakura"),
    ("Дмитрий", "dmitri"),
    ("Grace", "grace"),
    ("Liam", "liam"),
    ("Ana", "ana"),
    ("Yusuf", "yusuf"),
    ("Ines", "ines"),
    ("Kai", "kai"),
)
LAST_NAMES: tuple[tuple[str, str], ...] = (
    ("Lovelace", "lovelace"),
    ("Nakamura", "nakamura"),
    ("García", "garcia"),
    ("Okafor", "okafor"),
    ("Jensen", "jensen"),
    ("Rossi", "rossi"),
    ("Chen", "chen"),
    ("Müller", "muller"),
    ("Singh", "singh"),
    ("Kowalski", "kowalski"),
    ("Haddad", "haddad"),
    ("Silva", "silva"),
    ("Novak", "novak"),
    ("Mensah", "mensah"),
    ("Dubois", "dubois"),
    ("Ivanova", "ivanova"),
    ("Yilmaz", "yilmaz"),
    ("Park", "park"),
    ("O'Brien", "obrien"),
    ("Fernández", "fernandez"),
    ("Kim", "kim"),
    ("Andersen", "andersen"),
    ("Moreau", "moreau"),
    ("Abebe", "abebe"),
    ("Tanaka", "tanaka"),
    ("Costa", "costa"),
    ("Nguyen", "nguyen"),
    ("Schmidt", "schmidt"),
    ("Lindqvist", "lindqvist"),
    ("Banda", "banda"),
    ("Petrov", "petrov"),
    ("Rahman", "rahman"),
)
NAME_SUFFIXES: tuple[str, ...] = ("", "", "", "", "", "", " 🌊", " ✨", " 📚", " (she/her)", " 🇧🇷", " 🚀")
_WORDS_TEXT = """
the a data pipeline sandbox likes api rate limit token page morning coffee build ship test
deploy weekend release bug fix feature team open source python airflow schedule graph chart
query stream batch cloud storage metric dashboard alert latency cache index shard replica
cluster node worker queue retry backoff window cursor offset record field schema json yaml
config secret vault audit review merge branch commit tag version docs guide tutorial thread
reply quote share follow today tomorrow yesterday finally really great small huge fast slow
simple clean honest curious happy learning writing reading building debugging shipping planning
waiting thinking
"""
WORDS: tuple[str, ...] = tuple(_WORDS_TEXT.split())
HASHTAGS: tuple[str, ...] = (
    "DataEngineering",
    "Python",
    "ApacheAirflow",
    "OpenSource",
    "DevRel",
    "100DaysOfCode",
    "TechTwitter",
    "MondayMotivation",
    "BuildInPublic",
    "API",
)
SOURCES: tuple[str, ...] = ("Twitter Web App", "Twitter for iPhone", "Twitter for Android", "TweetDeck")
CONTEXT_ANNOTATIONS: tuple[tuple[tuple[str, str, str], tuple[str, str]], ...] = (
    (
        ("46", "Business Taxonomy", "Categories within Brand Verticals that narrow down the scope of Brands"),
        ("1557696940178935808", "Gaming Business"),
    ),
    (("47", "Brand", "Brands and Companies"), ("10045225402", "Twitter")),
    (
        ("65", "Interests and Hobbies Vertical", "Top level interests and hobbies groupings"),
        ("847544972781826048", "Technology"),
    ),
    (
        ("66", "Interests and Hobbies Category", "A grouping of interests and hobbies entities"),
        ("1280545227919626240", "Data science"),
    ),
    (
        ("131", "Unified Twitter Taxonomy", "A taxonomy view into the Semantic Core knowledge graph"),
        ("848920371311001600", "Technology"),
    ),
)
PLACES: tuple[dict[str, object], ...] = (
    {
        "id": "0073b76548e5984f",
        "full_name": "Sydney, New South Wales",
        "name": "Sydney",
        "country": "Australia",
        "country_code": "AU",
        "place_type": "city",
        "bbox": [150.520928608, -34.1183470085, 151.343020992, -33.578140996],
    },
    {
        "id": "01a9a39529b27f36",
        "full_name": "Manhattan, NY",
        "name": "Manhattan",
        "country": "United States",
        "country_code": "US",
        "place_type": "city",
        "bbox": [-74.026675, 40.683935, -73.910408, 40.877483],
    },
    {
        "id": "5e02a0f0d91c76d2",
        "full_name": "İstanbul, Türkiye",
        "name": "İstanbul",
        "country": "Türkiye",
        "country_code": "TR",
        "place_type": "city",
        "bbox": [28.632104, 40.802734, 29.421254, 41.239907],
    },
    {
        "id": "457b4814b4240d87",
        "full_name": "London, England",
        "name": "London",
        "country": "United Kingdom",
        "country_code": "GB",
        "place_type": "city",
        "bbox": [-0.187894, 51.483718, -0.109978, 51.5164655],
    },
    {
        "id": "09f6a7707f18e0b1",
        "full_name": "Nairobi, Kenya",
        "name": "Nairobi",
        "country": "Kenya",
        "country_code": "KE",
        "place_type": "city",
        "bbox": [36.650938, -1.444471, 37.103887, -1.163522],
    },
    {
        "id": "9d63050d3d33d32f",
        "full_name": "São Paulo, Brasil",
        "name": "São Paulo",
        "country": "Brasil",
        "country_code": "BR",
        "place_type": "city",
        "bbox": [-46.826039, -24.008814, -46.365052, -23.356792],
    },
    {
        "id": "0a3e119020705b64",
        "full_name": "東京都 中央区",
        "name": "中央区",
        "country": "日本",
        "country_code": "JP",
        "place_type": "city",
        "bbox": [139.7574, 35.6545, 139.7939, 35.6978],
    },
    {
        "id": "3b77caf94bfc81fe",
        "full_name": "Berlin, Deutschland",
        "name": "Berlin",
        "country": "Deutschland",
        "country_code": "DE",
        "place_type": "city",
        "bbox": [13.088304, 52.338079, 13.760909, 52.675323],
    },
)
LOCATIONS: tuple[str, ...] = (*tuple(str(p["full_name"]) for p in PLACES), "Earth", "the internet", "🌍")
