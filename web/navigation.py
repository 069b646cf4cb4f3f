"""The navigation: one entry per page, shown only to the users who may open that page.

A new page adds one ``NavItem`` here; who sees it comes from the page's own roles
(``core.pages.page``). The admin is not a page of ours: its entry names the admin's roles.
"""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from web.access import may_open, may_use_admin


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    # URL names (besides url_name) under which this entry is the current one.
    also_current: tuple[str, ...] = ()


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    current: bool


NAV = (
    NavItem(_("工作台"), "web:home"),
    NavItem(
        _("家庭档案"),
        "web:household_search",
        also_current=("web:household_register", "web:household", "web:household_history"),
    ),
    NavItem(_("上报线索"), "grid:flag-new"),
    NavItem(_("我上报的线索"), "grid:flags", also_current=("grid:flag",)),
    NavItem(
        _("救助申请"),
        "casework:applications",
        ("casework:application", "casework:application-start", "casework:application-move"),
    ),
    NavItem(_("网格员线索"), "casework:flags", ("casework:flag",)),
    NavItem(_("临时救助"), "casework:relief-list", ("casework:relief", "casework:relief-new")),
    NavItem(
        _("期限提醒"), "casework:deadlines", ("casework:deadlines-week", "casework:reviews-due")
    ),
    NavItem(
        _("待我审批"),
        "casework:decisions",
        ("casework:relief-decision", "casework:change-decision"),
    ),
)
ADMIN_ITEM = NavItem(_("系统管理"), "admin:index")


def nav_links(*, user, current: str) -> list[NavLink]:
    """The entries ``user`` may open, in order; ``current`` is the URL name being shown."""
    links = [
        NavLink(
            str(item.label),
            reverse(item.url_name),
            current in (item.url_name, *item.also_current),
        )
        for item in NAV
        if may_open(user, item.url_name)
    ]
    if may_use_admin(user):
        links.append(NavLink(str(ADMIN_ITEM.label), reverse(ADMIN_ITEM.url_name), False))
    return links
