"""Forms of the registry pages: find a household, register one with its members.

The forms parse and check what a person types, field by field, with the bounds of the model
fields (``formfield()``) and the messages of ``core.idnumbers``; the rules of the registry stay
in ``beneficiaries.services``, which the page calls once the whole household is valid.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import Asset, Household, IncomeItem, IncomeType, Member, Region
from beneficiaries.selectors import active_membership
from beneficiaries.services import (
    AssetEntry,
    IncomeEntry,
    MemberEntry,
    check_bank_account,
    duplicate_person_error,
)
from core.exceptions import DomainError
from core.idnumbers import normalize_resident_id, parse_resident_id
from core.scope import scope

# How many rows of each kind one household may bring: far above any real household.
MAX_MEMBERS = 20
MAX_INCOMES = 40
MAX_ASSETS = 20


def model_field(model, name: str, **overrides) -> forms.Field:
    """The form field of a model field, with its bounds: the model field's validators (money
    floors and ceilings, dates, control characters) run on the form too."""
    field = model._meta.get_field(name)
    return field.formfield(validators=list(field.validators), **overrides)


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("姓名、身份证号、地址或户号"),
        max_length=50,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )


class HouseholdForm(forms.Form):
    village = forms.ModelChoiceField(queryset=Region.objects.none(), label=_("村/社区"))
    address = model_field(Household, "address")
    hukou_type = model_field(Household, "hukou_type")
    bank_name = model_field(Household, "bank_name")
    bank_account_holder = model_field(Household, "bank_account_holder")
    bank_account_number = model_field(Household, "bank_account_number")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = scope(
            Region.objects.filter(level=Region.Level.VILLAGE), user=user, field="code"
        ).order_by("code")
        self.fields["village"].label_from_instance = lambda region: region.name

    def clean_bank_account_number(self) -> str:
        try:
            return check_bank_account(self.cleaned_data["bank_account_number"])
        except DomainError as error:
            raise ValidationError(str(error.message), code=error.code) from None


def check_id_number(value: str) -> str:
    """The ID as stored, or the message of ``core.idnumbers`` saying what is wrong with it."""
    return parse_resident_id(value).number


class MemberForm(forms.Form):
    name = model_field(Member, "name")
    id_number = forms.CharField(label=_("身份证号"), max_length=30)
    relation = model_field(Member, "relation")
    work_ability = model_field(Member, "work_ability")
    disability_category = model_field(Member, "disability_category", required=False)
    disability_grade = model_field(Member, "disability_grade")
    serious_illness = model_field(Member, "serious_illness")

    def clean_id_number(self) -> str:
        return check_id_number(self.cleaned_data["id_number"])

    def clean(self):
        data = super().clean()
        if data.get("disability_grade") and not data.get("disability_category"):
            self.add_error("disability_category", _("有残疾等级时须填写残疾类别"))
        return data


class IncomeForm(forms.Form):
    member = forms.TypedChoiceField(label=_("成员"), coerce=int)
    type = forms.ChoiceField(label=_("收入类型"), choices=IncomeType.choices)
    monthly_amount = model_field(IncomeItem, "monthly_amount")
    valid_from = model_field(
        IncomeItem, "valid_from", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, member_count: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].choices = [
            (str(n), _("成员%(n)s") % {"n": n}) for n in range(1, member_count + 1)
        ]


class AssetForm(forms.Form):
    kind = model_field(Asset, "kind")
    value = model_field(Asset, "value")
    description = model_field(Asset, "description")


# Rows are added and removed by the page (no DELETE box, no spare empty rows).
MemberFormSet = forms.formset_factory(
    MemberForm, extra=0, min_num=1, max_num=MAX_MEMBERS, validate_max=True, validate_min=True
)
IncomeFormSet = forms.formset_factory(IncomeForm, extra=0, max_num=MAX_INCOMES, validate_max=True)
AssetFormSet = forms.formset_factory(AssetForm, extra=0, max_num=MAX_ASSETS, validate_max=True)


class Registration:
    """The registration page's household form and its three row sets, bound to one POST.

    Rows are named ``members-N-…``, ``incomes-N-…`` and ``assets-N-…``; an income names its
    member by number (成员1 is the first row of members).
    """

    def __init__(self, data=None, *, user, initial: dict | None = None):
        initial = initial or {}
        self.household = HouseholdForm(data, user=user, initial=initial.get("household"))
        self.members = MemberFormSet(data, prefix="members", initial=initial.get("members"))
        count = self.members.total_form_count()
        self.incomes = IncomeFormSet(
            data,
            prefix="incomes",
            initial=initial.get("incomes"),
            form_kwargs={"member_count": max(count, 1)},
        )
        self.assets = AssetFormSet(data, prefix="assets", initial=initial.get("assets"))

    @classmethod
    def reshaped(cls, data, *, user, action: str) -> "Registration":
        """The form shown again, unchecked, with what was typed and one row added or removed:
        ``action`` is ``add-members``, ``remove-members-2`` and so on. Removing a member
        removes their incomes and renumbers the others'."""
        verb, _sep, rest = action.partition("-")
        prefix, _sep, number = rest.partition("-")
        rows = {
            name: rows_of(
                data,
                prefix=name,
                add=verb == "add" and prefix == name,
                remove=_int(number, None) if verb == "remove" and prefix == name else None,
            )
            for name in ("members", "incomes", "assets")
        }
        if verb == "remove" and prefix == "members":
            gone = _int(number, -1) + 1
            kept = []
            for income in rows["incomes"]:
                member = _int(income.get("member"), 0)
                if member == gone:
                    continue
                if member > gone:
                    income["member"] = str(member - 1)
                kept.append(income)
            rows["incomes"] = kept
        household = {name: data.get(name, "") for name in HouseholdForm.base_fields}
        return cls(None, user=user, initial={"household": household, **rows})

    def parts(self):
        return (self.household, self.members, self.incomes, self.assets)

    def is_valid(self) -> bool:
        valid = all([part.is_valid() for part in self.parts()])
        if not valid:
            return False
        seen: dict[str, int] = {}
        for index, form in enumerate(self.members.forms):
            number = form.cleaned_data["id_number"]
            if number in seen:
                form.add_error(
                    "id_number",
                    _("与成员%(other)s的身份证号相同") % {"other": seen[number] + 1},
                )
                valid = False
            seen.setdefault(number, index)
        return valid

    def entries(self) -> dict:
        """What ``services.register_household_with_members`` takes, from the valid forms."""
        incomes: dict[int, list[IncomeEntry]] = {}
        self.income_rows: dict[tuple[int, int], int] = {}
        for row, form in enumerate(self.incomes.forms):
            data = form.cleaned_data
            index = data["member"] - 1
            self.income_rows[(index, len(incomes.get(index, [])))] = row
            incomes.setdefault(index, []).append(
                IncomeEntry(
                    type=data["type"],
                    monthly_amount=data["monthly_amount"],
                    valid_from=data["valid_from"],
                )
            )
        members = []
        for index, form in enumerate(self.members.forms):
            data = form.cleaned_data
            attributes = {
                "work_ability": data["work_ability"],
                "serious_illness": data["serious_illness"],
                "disability_category": data["disability_category"] or "",
                "disability_grade": data["disability_grade"],
            }
            members.append(
                MemberEntry(
                    name=data["name"],
                    id_number=data["id_number"],
                    relation=data["relation"],
                    attributes=attributes,
                    incomes=tuple(incomes.get(index, ())),
                )
            )
        assets = [
            AssetEntry(
                kind=form.cleaned_data["kind"],
                value=form.cleaned_data["value"],
                description=form.cleaned_data["description"],
            )
            for form in self.assets.forms
        ]
        return {**self.household.cleaned_data, "members": members, "assets": assets}

    def show_error(self, error) -> None:
        """Put a service's refusal beside the field it concerns."""
        group = getattr(error, "group", None)
        field = error.field
        if group == "members":
            form = self.members.forms[error.index]
        elif group == "incomes":
            form = self.incomes.forms[self.income_rows[(error.index, error.item)]]
        elif group == "assets":
            form = self.assets.forms[error.index]
        else:
            form = self.household
        if field not in form.fields:
            field = None
        form.add_error(field, str(error.message))


def rows_of(data, *, prefix: str, add: bool = False, remove: int | None = None) -> list[dict]:
    """The ``prefix`` rows of the POST data as each row's values, with a row added or row
    ``remove`` taken out."""
    total = _int(data.get(f"{prefix}-TOTAL_FORMS"), 0)
    rows = []
    for index in range(total):
        start = f"{prefix}-{index}-"
        rows.append(
            {key.removeprefix(start): data.get(key) for key in data if key.startswith(start)}
        )
    if remove is not None and 0 <= remove < len(rows):
        del rows[remove]
    if add:
        rows.append({})
    return rows


def _int(value, default: int | None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def id_number_message(value: str, *, user) -> tuple[str, str]:
    """What the page says of an ID as it is typed: ("error", message) or ("ok", what it reads).
    A person active in a household ``user`` may not see is named only by the county."""
    number = normalize_resident_id(value)
    if not number:
        return "", ""
    try:
        resident = parse_resident_id(number)
    except ValidationError as error:
        return "error", error.messages[0]
    existing = active_membership(resident.number)
    if existing is not None:
        return "error", str(duplicate_person_error(existing, by=user).message)
    sex = Member.Sex(resident.sex).label
    return "ok", _("出生日期 %(date)s，%(sex)s") % {
        "date": resident.birth_date.isoformat(),
        "sex": sex,
    }
