"""What the shared templates in ``web/templates/web/components/`` render, built by views.

* :class:`Table` — a dense data table: columns say what to show and how (money right-aligned
  with two decimals, dates in Asia/Shanghai, a status as a badge, a link), rows are any objects
  or dicts. Rendered by ``components/table.html``, with its empty state when there is no row.
* :class:`Chart` — an ECharts option (plain data, built in Python) and a one-line summary that
  stands in for the chart where scripts do not run. ``components/chart.html``.
* :class:`Pager` — previous/next links that keep the other query parameters, for a Django
  ``Page`` (:meth:`Pager.for_page`) or any keyset cursor. ``components/pagination.html``.
* :data:`TONES` — the colour of a status badge by status value, one table for every model.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# A status value → Bootstrap colour. The same value means the same thing in every model
# (approved, refused, open …); a value not listed shows grey.
TONES = {
    # applications
    "submitted": "secondary",
    "home_visit": "info",
    "economic_check": "info",
    "township_review": "info",
    "public_notice": "warning",
    "approval": "primary",
    "approved": "success",
    "refused": "danger",
    "withdrawn": "secondary",
    # flags
    "open": "warning",
    "converted": "info",
    "enrolled": "success",
    "rejected": "danger",
    # enrolments
    "active": "success",
    "gradual_exit": "warning",
    "suspended": "secondary",
    "stopped": "danger",
    # batches
    "draft": "secondary",
    "computing": "info",
    "computed": "primary",
    "exported": "info",
    "reconciled": "success",
    "closed": "secondary",
    # temporary relief: who approves
    "township": "success",
    "county": "warning",
    # deadlines
    "overdue": "danger",
    "due": "warning",
}


def tone(value: str) -> str:
    return TONES.get(value, "secondary")


Label = str | Promise


@dataclass(frozen=True)
class Column:
    """One column. ``key`` is an attribute or dict key path (``"batch.region.name"``) or a
    function of the row. ``kind`` says how a value is shown: text, count, money, date,
    deadline (a date, marked when past), datetime, month or badge (``badge_label`` then gives
    the label, e.g. the display name).
    ``link`` gives the URL of a row's cell (no link when it returns ""). ``wide_only`` hides
    the column below 768 px, where a grid worker's phone has room for two or three columns.
    """

    label: Label
    key: str | Callable[[Any], Any]
    kind: str = "text"
    badge_label: str | Callable[[Any], Any] | None = None
    link: Callable[[Any], str] | None = None
    wide_only: bool = False

    @property
    def numeric(self) -> bool:
        return self.kind in ("money", "count")

    def value(self, row: Any) -> Any:
        return pick(row, self.key)

    def label_of(self, row: Any) -> Any:
        return pick(row, self.badge_label) if self.badge_label is not None else self.value(row)


def pick(row: Any, key: str | Callable[[Any], Any]) -> Any:
    if callable(key):
        return key(row)
    value = row
    for part in key.split("."):
        if value is None:
            return None
        value = value.get(part) if isinstance(value, dict) else getattr(value, part)
    return value() if callable(value) else value


@dataclass(frozen=True)
class Table:
    columns: Sequence[Column]
    rows: Sequence[Any]
    empty: Label = _("暂无记录")
    caption: Label = ""


@dataclass(frozen=True)
class Chart:
    """An ECharts chart: ``option`` is passed to ``setOption`` as it is (JSON-serialisable);
    ``summary`` says the same in words (shown under the chart and read by screen readers)."""

    id: str
    title: Label
    option: dict
    summary: Label = ""
    tall: bool = False
    # Nothing to draw: the summary is shown alone, as an empty state.
    empty: bool = False

    @property
    def option_id(self) -> str:
        return f"{self.id}-option"


@dataclass(frozen=True)
class Pager:
    previous_url: str = ""
    next_url: str = ""
    summary: str = ""

    @classmethod
    def for_page(cls, *, request, page: Page, param: str = "page") -> "Pager":
        """Links to the neighbouring pages of a Django ``Page``, other parameters kept."""

        def url(number: int) -> str:
            query = request.GET.copy()
            query[param] = str(number)
            return f"?{query.urlencode()}"

        summary = _("第 %(number)s / %(pages)s 页，共 %(count)s 条") % {
            "number": page.number,
            "pages": page.paginator.num_pages,
            "count": page.paginator.count,
        }
        return cls(
            previous_url=url(page.previous_page_number()) if page.has_previous() else "",
            next_url=url(page.next_page_number()) if page.has_next() else "",
            summary=summary,
        )

    @property
    def shown(self) -> bool:
        return bool(self.previous_url or self.next_url)
