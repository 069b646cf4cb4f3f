"""The auditor's adjustment list as CSV and XLSX: who changed which amount, when, and why.

Every cell goes through ``core.exports.cell`` (no live formulas, no character the format
forbids), so the export works whatever text the append-only adjustments hold.
"""

import csv
import io
from collections.abc import Iterable, Iterator

from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook

from core import exports
from core.months import format_month, local_time_text

from .models import Adjustment

COLUMNS = [
    (_("编号"), lambda a: a.pk),
    (_("区划代码"), lambda a: a.region_code),
    (_("家庭"), lambda a: a.enrolment.household_id),
    (_("保障记录"), lambda a: a.enrolment_id),
    (_("类别"), lambda a: a.enrolment.get_category_display()),
    (_("调整类型"), lambda a: a.get_kind_display()),
    (_("原因代码"), lambda a: a.reason_code),
    (_("原因说明"), lambda a: a.reason_text),
    (_("生效月份"), lambda a: format_month(a.effective_month)),
    (_("调整前金额"), lambda a: a.amount_before),
    (_("调整后金额"), lambda a: a.amount_after),
    (_("提出人"), lambda a: a.proposed_by.username if a.proposed_by else ""),
    (_("审批人"), lambda a: a.approved_by.username if a.approved_by else ""),
    (_("记录时间"), lambda a: local_time_text(a.created_at)),
]


def _rows(adjustments: Iterable[Adjustment]):
    yield exports.row(str(title) for title, _value in COLUMNS)
    for adjustment in adjustments:
        yield exports.row(value(adjustment) for _title, value in COLUMNS)


def adjustments_csv(adjustments: Iterable[Adjustment]) -> Iterator[bytes]:
    """CSV lines, streamed: UTF-8 with a byte-order mark first, so spreadsheet programs read the
    Chinese correctly."""
    yield "\ufeff".encode()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in _rows(adjustments):
        writer.writerow(row)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()


def adjustments_xlsx(adjustments: Iterable[Adjustment]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(str(_("动态调整")))
    for row in _rows(adjustments):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
