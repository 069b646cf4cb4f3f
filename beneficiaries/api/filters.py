"""Query filters of the registry API (django-filter). Each applies inside the user's scope.

Apps above the registry add their own filters to these lists from their ``AppConfig.ready``
(casework adds ``category``: who is covered under a category).
"""

import django_filters
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import (
    COUNTED_INCOME,
    Asset,
    Household,
    IncomeItem,
    IncomeType,
    Member,
    MemberMove,
    ReadEntry,
    Region,
)
from core.idnumbers import normalize_resident_id


def region_prefix_filter(field: str):
    """A ``region`` filter taking a region code and matching its whole subtree on ``field``."""

    def apply(queryset: QuerySet, name: str, value: str) -> QuerySet:
        region = Region.objects.filter(code=value).first()
        if region is None:
            return queryset.none()
        return queryset.filter(**{f"{field}__startswith": region.prefix})

    return django_filters.CharFilter(method=apply, label=_("区划代码(含下级)"))


class RegionFilter(django_filters.FilterSet):
    parent = django_filters.NumberFilter(field_name="parent_id")
    within = region_prefix_filter("code")
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Region
        fields = ["level", "parent", "within", "name", "code"]


class HouseholdFilter(django_filters.FilterSet):
    region = region_prefix_filter("region_code")
    village = django_filters.NumberFilter(field_name="village_id")
    address = django_filters.CharFilter(lookup_expr="icontains")
    name = django_filters.CharFilter(method="filter_name", label=_("成员姓名"))
    id_number = django_filters.CharFilter(method="filter_id_number", label=_("身份证号"))

    class Meta:
        model = Household
        fields = ["region", "village", "status", "hukou_type", "address", "name", "id_number"]

    def filter_name(self, queryset, name, value):
        members = Member.objects.filter(
            household=OuterRef("pk"), is_active=True, name__icontains=value
        )
        return queryset.filter(Exists(members))

    def filter_id_number(self, queryset, name, value):
        members = Member.objects.filter(
            household=OuterRef("pk"), is_active=True, id_number=normalize_resident_id(value)
        )
        return queryset.filter(Exists(members))


class MemberFilter(django_filters.FilterSet):
    region = region_prefix_filter("household__region_code")
    household = django_filters.NumberFilter(field_name="household_id")
    name = django_filters.CharFilter(lookup_expr="icontains")
    id_number = django_filters.CharFilter(method="filter_id_number", label=_("身份证号"))
    hukou_type = django_filters.ChoiceFilter(
        field_name="household__hukou_type", choices=Household.HukouType.choices
    )
    household_status = django_filters.ChoiceFilter(
        field_name="household__status", choices=Household.Status.choices
    )

    class Meta:
        model = Member
        fields = [
            "region",
            "household",
            "name",
            "id_number",
            "relation",
            "is_active",
            "is_alive",
            "disability_category",
            "disability_grade",
            "serious_illness",
            "work_ability",
        ]

    def filter_id_number(self, queryset, name, value):
        return queryset.filter(id_number=normalize_resident_id(value))


class IncomeItemFilter(django_filters.FilterSet):
    region = region_prefix_filter("member__household__region_code")
    member = django_filters.NumberFilter(field_name="member_id")
    household = django_filters.NumberFilter(field_name="member__household_id")
    type = django_filters.MultipleChoiceFilter(choices=IncomeType.choices)
    counted = django_filters.BooleanFilter(method="filter_counted", label=_("计入收入"))
    valid_on = django_filters.DateFilter(method="filter_valid_on", label=_("某日有效"))

    class Meta:
        model = IncomeItem
        fields = ["region", "member", "household", "type", "counted", "valid_on"]

    def filter_counted(self, queryset, name, value):
        if value:
            return queryset.filter(type__in=COUNTED_INCOME)
        return queryset.exclude(type__in=COUNTED_INCOME)

    def filter_valid_on(self, queryset, name, value):
        return queryset.filter(valid_from__lte=value).exclude(valid_to__lt=value)


class AssetFilter(django_filters.FilterSet):
    region = region_prefix_filter("household__region_code")
    household = django_filters.NumberFilter(field_name="household_id")

    class Meta:
        model = Asset
        fields = ["region", "household", "kind"]


class MemberMoveFilter(django_filters.FilterSet):
    region = region_prefix_filter("to_member__household__region_code")
    id_number = django_filters.CharFilter(field_name="to_member__id_number")
    moved_after = django_filters.DateFilter(field_name="moved_on", lookup_expr="gte")
    moved_before = django_filters.DateFilter(field_name="moved_on", lookup_expr="lte")

    class Meta:
        model = MemberMove
        fields = ["region", "id_number", "moved_after", "moved_before"]


class ReadEntryFilter(django_filters.FilterSet):
    """The read log per household, per user (user name), per API token (its ``token_key``), per
    kind of read and per day (dates in Asia/Shanghai)."""

    region = region_prefix_filter("region_code")
    household = django_filters.NumberFilter(field_name="household_id")
    user = django_filters.CharFilter(field_name="user__username", label=_("用户名"))
    token = django_filters.CharFilter(field_name="token__token_key", label=_("令牌"))
    since = django_filters.DateFilter(field_name="at__date", lookup_expr="gte", label=_("起始日期"))
    until = django_filters.DateFilter(field_name="at__date", lookup_expr="lte", label=_("截止日期"))

    class Meta:
        model = ReadEntry
        fields = ["region", "household", "user", "token", "what", "since", "until"]
