"""Who read whom (查阅记录): every read of people's personal data is one append-only entry.

What is logged: the household and member reads of the API (detail and list, and the income,
asset and move records that belong to them), the explanations of payment lines and enrolments,
a household's timeline, the CSV/XLSX exports, the bank files, and the pages that show a
household. Each entry holds the user, the time, what was read, the household when one is named,
the filter and row count of a list or export (one entry however many rows), the address
(``core.signin.client_ip``), the path, and the API token when the call carried one (the user is
then the token's owner: a service account, or the person whose script it is).

One call does it, from an API view or a page::

    log_read(request=request, what="household.page", household=household)
    log_read(request=request, what="member.list", rows=len(page))  # filter from request.GET

API viewsets get it from :class:`LoggedReadsMixin`. The payroll never calls it: batches are
computed by tasks, not read through views.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from operator import attrgetter

from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from rest_framework.response import Response

from beneficiaries.models import ApiToken, Household, ReadEntry
from core import exports
from core.months import local_time_text
from core.scope import scope
from core.signin import client_ip

# Query parameters that do not change which rows are read.
NOT_A_FILTER = frozenset({"page", "page_size", "format", "lang"})


def filter_of(request) -> str:
    """The request's filter: its query string without paging and presentation parameters."""
    params = getattr(request, "query_params", None) or request.GET
    kept = params.copy()
    for name in NOT_A_FILTER:
        kept.pop(name, None)
    return kept.urlencode()


def log_read(
    *,
    request,
    what: str,
    household: Household | int | None = None,
    rows: int = 1,
    query: str | None = None,
) -> ReadEntry:
    """Record that ``request.user`` read ``what`` (``"household.detail"``, ``"member.list"``,
    ``"bank_file.download"``…): of one ``household`` (an instance, or its id), or ``rows`` rows
    of a list or export filtered by ``query`` (by default the request's query string)."""
    user = request.user
    if isinstance(household, int):
        household = Household.objects.only("region_code").get(pk=household)
    if household is not None:
        region_code = household.region_code
    else:
        region_code = user.region.code if user.region_id else ""
    token = getattr(request, "auth", None)
    return ReadEntry.objects.create(
        user=user,
        token=token if isinstance(token, ApiToken) else None,
        what=what[:60],
        household=household,
        region_code=region_code,
        rows=rows,
        query=(filter_of(request) if query is None else query)[:500],
        ip_address=client_ip(request) or None,
        path=request.path[:300],
    )


def _household_of(instance, path: str | None):
    if path is None:
        return instance
    return attrgetter(path)(instance) if path else None


class LoggedReadsMixin:
    """Logs each ``retrieve`` (naming the record's household) and each ``list`` (one entry with
    the filter and the number of rows on the page; naming the household when the list is
    filtered by one and returned rows of it) of an API viewset.

    ``read_log_name`` names the resource (``"member"``); ``read_household`` is the attribute
    path from a record to its household (``"household"``, ``"member.household"``; None for a
    Household itself, "" for a record that belongs to no household).
    """

    read_log_name: str = ""
    read_household: str | None = "household"

    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        data = self.get_serializer(instance).data
        log_read(
            request=request,
            what=f"{self.read_log_name}.detail",
            household=_household_of(instance, self.read_household),
        )
        return Response(data)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        data = response.data
        rows = len(data["results"]) if isinstance(data, dict) and "results" in data else len(data)
        log_read(
            request=request,
            what=f"{self.read_log_name}.list",
            rows=rows,
            household=self._listed_household(rows),
        )
        return response

    def _listed_household(self, rows: int) -> Household | None:
        """The household the list was filtered by, if its filter has one and it returned rows."""
        value = self.request.query_params.get("household", "")
        filterset = getattr(self, "filterset_class", None)
        names = filterset.base_filters if filterset else getattr(self, "filterset_fields", ())
        if not rows or not (value.isascii() and value.isdigit()) or "household" not in names:
            return None
        households = scope(Household.objects.only("region_code"), user=self.request.user)
        return households.filter(pk=int(value)).first()


COLUMNS = [
    (_("编号"), lambda e: e.pk),
    (_("时间"), lambda e: local_time_text(e.at)),
    (_("查阅人"), lambda e: e.user.username),
    (_("角色"), lambda e: e.user.get_role_display()),
    (_("查阅内容"), lambda e: e.what),
    (_("家庭"), lambda e: e.household_id or ""),
    (_("区划代码"), lambda e: e.region_code),
    (_("行数"), lambda e: e.rows),
    (_("筛选条件"), lambda e: e.query),
    (_("来源地址"), lambda e: e.ip_address or ""),
    (_("访问路径"), lambda e: e.path),
    (_("令牌"), lambda e: e.token.token_key if e.token_id else ""),
]


def _rows(entries: Iterable[ReadEntry]):
    yield exports.row(str(title) for title, _value in COLUMNS)
    for entry in entries:
        yield exports.row(value(entry) for _title, value in COLUMNS)


def entries_csv(entries: Iterable[ReadEntry]) -> Iterator[bytes]:
    """CSV lines, streamed, UTF-8 with a byte-order mark (spreadsheets then read the Chinese)."""
    yield "\ufeff".encode()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in _rows(entries):
        writer.writerow(row)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()


def entries_xlsx(entries: Iterable[ReadEntry]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(str(_("查阅记录")))
    for row in _rows(entries):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
