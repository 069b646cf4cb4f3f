"""The seed region tree (seeds/data/regions.json): Jiangsu → Zhenjiang and Changzhou → villages.

Cities, counties and county-level cities carry their GB/T 2260 codes; township and village
digits follow the statistical-code convention (streets 001–099, towns 100+, communities 001–199,
villages 201+) and are illustrative where the real code was not at hand.
"""

import datetime
import json
from collections.abc import Iterator
from pathlib import Path

from beneficiaries.models import Region
from rules.parameters import resolve_parameters

REGIONS_FILE = Path(__file__).resolve().parent / "data" / "regions.json"


def region_tree(path: Path = REGIONS_FILE) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _walk(node: dict, parent_code: str | None = None) -> Iterator[tuple[dict, str | None]]:
    yield node, parent_code
    for child in node.get("children", ()):
        yield from _walk(child, node["code"])


def load_regions(path: Path = REGIONS_FILE) -> int:
    """Create or correct every region of the seed tree; return how many rows were written.

    Idempotent: a region already as the file says is not touched, so a second run writes nothing.
    """
    existing = {region.code: region for region in Region.objects.all()}
    written = 0
    for node, parent_code in _walk(region_tree(path)):
        parent = existing[parent_code] if parent_code else None
        wanted = {"name": node["name"], "level": node["level"], "parent": parent}
        region = existing.get(node["code"])
        if region is None:
            existing[node["code"]] = Region.objects.create(code=node["code"], **wanted)
            written += 1
        elif any(getattr(region, field) != value for field, value in wanted.items()):
            for field, value in wanted.items():
                setattr(region, field, value)
            region.save()
            written += 1
    return written


def city_standard(city_code: str, month: datetime.date) -> int:
    """The city's dibao standard in force in the month, in yuan: seeds draw incomes around it."""
    params = resolve_parameters(region_code=f"{city_code:0<12}", month=month)
    return int(params.value("standard"))


def villages_of(prefix: str) -> list[Region]:
    """The villages under a region prefix (e.g. a city's four digits), in code order."""
    return list(Region.objects.filter(level=Region.Level.VILLAGE, code__startswith=prefix))
