"""factory-boy factories for the core models. Pass ``village=`` (a village Region) to households."""

import datetime
from decimal import Decimal

import factory

from beneficiaries.facts import refresh_household_facts
from beneficiaries.models import Household, IncomeItem, Member
from casework.models import Enrolment
from core.idnumbers import make_resident_id


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    address = factory.Sequence(lambda n: f"幸福路{n + 1}号")
    hukou_type = Household.HukouType.URBAN
    bank_name = "江苏银行"
    bank_account_holder = "张三"
    bank_account_number = "6222020000000000000"


class MemberFactory(factory.django.DjangoModelFactory):
    """A member written straight to its table, then its household's facts by month rewritten as
    the registry's services do (beneficiaries.facts)."""

    class Meta:
        model = Member

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        member = super()._create(model_class, *args, **kwargs)
        refresh_household_facts(household_ids=[member.household_id])
        return member

    household = factory.SubFactory(HouseholdFactory)
    name = factory.Sequence(lambda n: f"成员{n}")
    relation = Member.Relation.HEAD
    id_number = factory.LazyAttributeSequence(
        lambda o, n: make_resident_id(o.household.region_code[:6], o.birth, n, o.sex_code)
    )
    birth_date = factory.LazyAttribute(lambda o: o.birth)
    sex = factory.LazyAttribute(lambda o: o.sex_code)

    class Params:
        birth = datetime.date(1980, 5, 17)
        sex_code = "M"


class IncomeItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IncomeItem

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        income = super()._create(model_class, *args, **kwargs)
        refresh_household_facts(household_ids=[income.member.household_id])
        return income

    member = factory.SubFactory(MemberFactory)
    type = "wages"
    monthly_amount = Decimal("0")
    valid_from = datetime.date(2020, 1, 1)


class EnrolmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrolment

    household = factory.SubFactory(HouseholdFactory)
    category = "dibao"
    start_month = datetime.date(2024, 1, 1)
