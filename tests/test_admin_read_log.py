"""Who read whom in the Django admin: every admin page that shows people's personal data writes
the read log (``core.admin.PolicyAdminMixin``), one entry per list page and per record shown."""

import pytest
from django.contrib import admin
from django.db.models import ForeignKey
from django.test import Client

from beneficiaries.models import Household, Member, ReadEntry
from tests.factories import EnrolmentFactory, HouseholdFactory, IncomeItemFactory, MemberFactory

PERSONAL = {Household, Member}


def _shows_personal_data(model, depth: int = 2) -> bool:
    """A household or member, a record with a resident ID, or one that points (in two steps at
    most) to such a record: its admin pages show whom it is about."""
    if model in PERSONAL or any(field.name == "id_number" for field in model._meta.fields):
        return True
    return depth > 0 and any(
        _shows_personal_data(field.related_model, depth - 1)
        for field in model._meta.fields
        if isinstance(field, ForeignKey) and field.related_model is not model
    )


@pytest.fixture
def family(regions):
    household = HouseholdFactory(village=regions["village_a1"], address="北府路12号")
    head = MemberFactory(household=household, name="王秀英")
    MemberFactory(household=household, name="李建国", relation="spouse", sex_code="M")
    household.head = head
    household.save()
    IncomeItemFactory(member=head)
    EnrolmentFactory(household=household)
    return household


@pytest.fixture
def staff(regions, make_user):
    client = Client(REMOTE_ADDR="10.8.8.8")
    client.force_login(make_user("admin", regions["zhenjiang"], username="zj-admin", is_staff=True))
    return client


def test_household_and_member_admin_pages_log_each_read(family, staff):
    head = family.head

    assert staff.get("/admin/beneficiaries/household/?q=北府路&p=0&o=1").status_code == 200
    assert staff.get(f"/admin/beneficiaries/household/{family.pk}/change/").status_code == 200
    assert staff.get("/admin/beneficiaries/member/?is_active__exact=1").status_code == 200
    assert staff.get(f"/admin/beneficiaries/member/{head.pk}/change/").status_code == 200

    entries = list(
        ReadEntry.objects.order_by("id").values_list(
            "user__username", "what", "household", "rows", "query", "ip_address"
        )
    )
    assert entries == [
        ("zj-admin", "household.admin_list", None, 1, "q=%E5%8C%97%E5%BA%9C%E8%B7%AF", "10.8.8.8"),
        ("zj-admin", "household.admin", family.pk, 1, "", "10.8.8.8"),
        ("zj-admin", "member.admin_list", None, 2, "is_active__exact=1", "10.8.8.8"),
        ("zj-admin", "member.admin", family.pk, 1, "", "10.8.8.8"),
    ]
    assert ReadEntry.objects.get(what="household.admin").region_code == "321102001001"


def test_an_admin_page_refused_or_missing_writes_no_entry(family, regions, make_user):
    outsider = Client()
    outsider.force_login(make_user("admin", regions["changzhou"], is_staff=True))
    caseworker = Client()
    caseworker.force_login(make_user("caseworker", regions["town_a"], is_staff=True))

    missing = outsider.get(f"/admin/beneficiaries/household/{family.pk}/change/")
    refused = caseworker.get("/admin/beneficiaries/household/")

    assert missing.status_code == 302 and refused.status_code == 403
    assert not ReadEntry.objects.exists()


def test_every_admin_that_shows_personal_data_logs_its_list_and_record_pages(family, staff):
    """A new admin of personal data without a read-log name fails here."""
    personal = [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if _shows_personal_data(model)
    ]
    assert {Household, Member} <= {model for model, _admin in personal}
    for model, model_admin in personal:
        meta = model._meta
        assert getattr(model_admin, "read_log_name", ""), f"{meta.label} admin logs no reads"
        listed = staff.get(f"/admin/{meta.app_label}/{meta.model_name}/")
        assert listed.status_code == 200, meta.label
        assert ReadEntry.objects.filter(what=f"{model_admin.read_log_name}.admin_list").exists()
        record = model_admin.get_queryset(listed.wsgi_request).first()
        if record is not None:
            shown = staff.get(f"/admin/{meta.app_label}/{meta.model_name}/{record.pk}/change/")
            assert shown.status_code == 200, meta.label
            entry = ReadEntry.objects.filter(what=f"{model_admin.read_log_name}.admin").last()
            assert entry is not None and entry.household in (family, None), meta.label


def test_admin_pages_without_personal_data_write_no_entry(staff):
    for path in ("/admin/beneficiaries/region/", "/admin/rules/standard/", "/admin/"):
        assert staff.get(path).status_code == 200
    assert not ReadEntry.objects.exists()


def test_a_record_of_a_household_names_it(family, staff):
    income = family.head.incomes.get()
    enrolment = family.enrolments.get()

    staff.get(f"/admin/beneficiaries/incomeitem/{income.pk}/change/")
    staff.get(f"/admin/casework/enrolment/{enrolment.pk}/change/")

    assert list(ReadEntry.objects.order_by("id").values_list("what", "household")) == [
        ("income.admin", family.pk),
        ("enrolment.admin", family.pk),
    ]
