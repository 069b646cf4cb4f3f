"""What an XLSX bomb costs the process that imports it. Prints RSS before and after.

    SECRET_KEY=dev python scripts/upload_memory.py --expanded-mb 1500

Builds a valid-looking household import workbook whose shared strings (1 MB each) expand to
``--expanded-mb`` MB while the file itself stays around a thousandth of that, then hands it to
``beneficiaries.imports.import_households`` in this process, as a web worker would, and prints
the resident memory (VmRSS) before and after, and the peak (VmHWM). With the upload limits the
file is refused from its archive's directory: memory does not move. Nothing is written: the
file is refused before anything is validated against the database.
"""

import argparse
import io
import os
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

XML = '<?xml version="1.0" encoding="UTF-8"?>'
PKG = "http://schemas.openxmlformats.org/package/2006"
DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
OFFICE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
CONTENT_TYPES = (
    f'{XML}<Types xmlns="{PKG}/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{OFFICE}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{OFFICE}.worksheet+xml"/>'
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{OFFICE}.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    f'{XML}<Relationships xmlns="{PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{DOC}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    f'{XML}<workbook xmlns="{MAIN}" xmlns:r="{DOC}">'
    '<sheets><sheet name="家庭成员" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    f'{XML}<Relationships xmlns="{PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{DOC}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{DOC}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
SHEET = (
    f'{XML}<worksheet xmlns="{MAIN}">'
    '<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>'
)


def bomb(expanded_mb: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in (
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", ROOT_RELS),
            ("xl/workbook.xml", WORKBOOK),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
            ("xl/worksheets/sheet1.xml", SHEET),
        ):
            archive.writestr(name, text)
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(f'{XML}<sst xmlns="{MAIN}">'.encode())
            item = b"<si><t>" + b"A" * (1 << 20) + b"</t></si>"
            for _ in range(expanded_mb):
                part.write(item)
            part.write(b"</sst>")
    return buffer.getvalue()


def memory_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expanded-mb", type=int, default=1500)
    args = parser.parse_args()

    import django

    django.setup()
    from beneficiaries.imports import import_households
    from beneficiaries.models import User

    content = bomb(args.expanded_mb)
    rss, peak = memory_mb()
    print(f"file: {len(content) / 1e6:.2f} MB, expands to {args.expanded_mb} MB")
    print(f"before: RSS {rss:.0f} MB, peak {peak:.0f} MB")
    started = time.monotonic()
    try:
        result = import_households(
            content=content, filename="roll.xlsx", by=User(role="caseworker")
        )
        outcome = f"report with {len(result.errors)} errors"
    except Exception as error:  # the refusal (or whatever the old code raised)
        outcome = f"{type(error).__name__}: {error}"
    rss, peak = memory_mb()
    print(f"outcome after {time.monotonic() - started:.1f} s: {outcome[:200]}")
    print(f"after: RSS {rss:.0f} MB, peak {peak:.0f} MB")


if __name__ == "__main__":
    main()
