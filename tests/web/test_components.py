"""The shared formatting: money, counts, dates in Asia/Shanghai, table cells and badges."""

import datetime
from decimal import Decimal

import pytest
from django import forms
from django.template import Context, Template
from django.utils import timezone

from web.components import Column, Pager
from web.templatetags.ui import cell, count, money


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("1725"), "1,725.00"),
        (Decimal("1234567.891"), "1,234,567.89"),
        (Decimal("0.005"), "0.01"),  # half up, not to even
        (Decimal("0.015"), "0.02"),
        (Decimal("-5000"), "-5,000.00"),
        (Decimal("-0.001"), "0.00"),
        (Decimal("999999999999.99"), "999,999,999,999.99"),  # the largest MONEY field value
        ("875.5", "875.50"),
        (None, "—"),
        ("", "—"),
    ],
)
def test_money_has_two_decimals_and_thousands_separators(value, shown):
    assert money(value) == shown


def test_counts_have_thousands_separators():
    assert (count(1000000), count(0), count(None)) == ("1,000,000", "0", "—")


def test_a_time_is_shown_in_asia_shanghai():
    utc = datetime.datetime(2024, 8, 31, 17, 30, tzinfo=datetime.UTC)  # 01:30 on 1 September
    assert cell({"at": utc}, Column("时间", "at", kind="datetime")) == "2024-09-01 01:30"
    assert cell({"at": utc}, Column("日期", "at", kind="date")) == "2024-09-01"


def test_cells_format_by_kind_and_link_only_what_has_a_value():
    row = {"month": datetime.date(2024, 8, 1), "amount": Decimal("1725"), "status": "approved"}
    month = Column("月份", "month", kind="month", link=lambda r: "/x/")
    assert cell(row, month) == '<a href="/x/">2024-08</a>'
    assert cell(row, Column("金额", "amount", kind="money")) == "1,725.00"
    assert cell({"month": None}, month) == "—"
    badge = cell(row, Column("状态", "status", kind="badge", badge_label=lambda r: "已审批"))
    assert badge == '<span class="badge text-bg-success">已审批</span>'


def test_a_deadline_already_past_is_marked_overdue():
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    column = Column("期限", "due", kind="deadline")
    late = f'<span class="text-danger fw-semibold">{yesterday:%Y-%m-%d} 已超期</span>'
    assert cell({"due": yesterday}, column) == late
    assert cell({"due": today}, column) == f"{today:%Y-%m-%d}"


def test_a_cell_escapes_what_it_shows():
    assert cell({"name": "<b>王</b>"}, Column("姓名", "name")) == "&lt;b&gt;王&lt;/b&gt;"


class Sample(forms.Form):
    name = forms.CharField(label="姓名")
    kind = forms.ChoiceField(label="类别", choices=[("a", "甲")])


def test_a_form_row_shows_the_error_beside_its_field():
    form = Sample(data={"name": "", "kind": "a"})
    form.is_valid()
    html = Template('{% include "web/components/form_row.html" with field=form.name %}').render(
        Context({"form": form})
    )
    assert 'class="form-control is-invalid"' in html
    assert 'aria-describedby="id_name_error"' in html
    assert 'id="id_name_error">该字段是必填项。</div>' in html


def test_a_select_gets_the_select_class():
    html = Template("{% load ui %}{% widget form.kind %}").render(Context({"form": Sample()}))
    assert 'class="form-select"' in html


def test_the_pager_keeps_the_other_query_parameters(rf):
    from django.core.paginator import Paginator

    request = rf.get("/list/", {"q": "王", "page": "2"})
    page = Paginator(list(range(120)), 50).page(2)
    pager = Pager.for_page(request=request, page=page)
    assert pager.previous_url == "?q=%E7%8E%8B&page=1"
    assert pager.next_url == "?q=%E7%8E%8B&page=3"
    assert pager.summary == "第 2 / 3 页，共 120 条"
