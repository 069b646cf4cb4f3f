"""The forms of the casework pages: they parse and bound what is typed (each field's bounds come
from its model field, core.fields), the services decide."""

import datetime
from decimal import Decimal

from django import forms
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import Household, Member
from casework.models import (
    CareLevel,
    CaseState,
    CaseStep,
    Category,
    ChangeRequest,
    Objection,
    Referral,
    ReliefCase,
    ReliefInstalment,
    ReviewClass,
)
from core.scope import scope
from core.uploads import too_large

# As many files as the API takes with one move.
MAX_ATTACHMENTS = 10


def model_field(model: type[models.Model], name: str, **overrides) -> forms.Field:
    """The form field of a model field, with its bounds (length, range, validators)."""
    return model._meta.get_field(name).formfield(**overrides)


def textarea(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Photos and scanned documents, each within the upload limit (core.uploads)."""

    widget = MultipleFileInput(attrs={"accept": "image/*,application/pdf"})

    def clean(self, data, initial=None):
        files = [f for f in (data or []) if f]
        if len(files) > MAX_ATTACHMENTS:
            raise forms.ValidationError(_("一次最多上传%(max)s个文件。") % {"max": MAX_ATTACHMENTS})
        for upload in files:
            message = too_large(upload.size, settings.UPLOAD_MAX_BYTES)
            if message:
                raise forms.ValidationError(f"{upload.name}：{message}")
        return files


class ApplicationFilter(forms.Form):
    state = forms.ChoiceField(
        label=_("环节"), choices=[("", _("全部"))] + CaseState.choices, required=False
    )
    category = forms.ChoiceField(
        label=_("类别"), choices=[("", _("全部"))] + Category.choices, required=False
    )
    mine = forms.BooleanField(label=_("只看我受理的"), required=False)


class CaseFields(forms.Form):
    """What an application is for: the category, the member for a one-person category, the care
    level of 特困, the review class and the caseworker's note."""

    category = forms.ChoiceField(label=_("申请类别"), choices=Category.choices)
    member = forms.ModelChoiceField(
        label=_("申请对象（单人类别）"),
        queryset=Member.objects.none(),
        required=False,
        empty_label=_("全户"),
        help_text=_("单人保、特困供养和儿童类别须选择成员。"),
    )
    care_level = forms.ChoiceField(
        label=_("护理等级（特困）"), choices=[("", "—")] + CareLevel.choices, required=False
    )
    review_class = forms.ChoiceField(
        label=_("复核类别"), choices=ReviewClass.choices, initial=ReviewClass.STABLE
    )
    comment = model_field(CaseStep, "comment", label=_("受理说明"), widget=textarea())

    def members_of(self, household: Household | None) -> None:
        queryset = Member.objects.none()
        if household is not None:
            queryset = household.members.filter(is_active=True).order_by("id")
        self.fields["member"].queryset = queryset
        self.fields["member"].label_from_instance = lambda member: member.name

    def case(self) -> dict:
        data = self.cleaned_data
        return {
            "category": data["category"],
            "member": data["member"],
            "care_level": data["care_level"],
            "review_class": data["review_class"],
            "comment": data["comment"],
        }


class StartApplication(CaseFields):
    """An application taken directly for a household of the user's subtree."""

    household = forms.IntegerField(
        label=_("家庭编号"), min_value=1, max_value=2**63 - 1, help_text=_("一户一档上的编号。")
    )
    field_order = ["household", "category", "member", "care_level", "review_class", "comment"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.members_of(
            self._household(self.data.get("household") or self.initial.get("household"))
        )

    def _household(self, number) -> Household | None:
        try:
            pk = int(number)
        except (TypeError, ValueError):
            return None
        return scope(Household.objects.all(), user=self.user).filter(pk=pk).first()

    def clean_household(self) -> Household:
        household = self._household(self.cleaned_data["household"])
        if household is None:
            raise forms.ValidationError(
                _("您的辖区内没有编号为 %(number)s 的家庭。")
                % {"number": self.cleaned_data["household"]}
            )
        return household


def households_holding(*, referral: Referral, user) -> models.QuerySet[Household]:
    """The households of the user's subtree that hold the person flagged: by resident ID, or by
    name in the flag's village when the flag has none (the rule ``convert_referral`` checks)."""
    if referral.id_number:
        holding = {"members__id_number": referral.id_number}
    else:
        holding = {"members__name": referral.name.strip(), "village": referral.village}
    return (
        scope(Household.objects.all(), user=user)
        .filter(members__is_active=True, **holding)
        .select_related("head", "village")
        .distinct()
        .order_by("id")
    )


class ConvertFlag(CaseFields):
    """A grid worker's flag turned into an application for the household holding the person."""

    household = forms.ModelChoiceField(
        label=_("所在家庭"),
        queryset=Household.objects.none(),
        empty_label=None,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    field_order = ["household", "category", "member", "care_level", "review_class", "comment"]

    def __init__(self, *args, referral: Referral, user, **kwargs):
        super().__init__(*args, **kwargs)
        candidates = households_holding(referral=referral, user=user)
        self.fields["household"].queryset = candidates
        self.fields["household"].label_from_instance = lambda h: (
            _("%(number)s号 %(head)s %(address)s")
            % {"number": h.pk, "head": h.head.name if h.head else "", "address": h.address}
        )
        self.fields["comment"].initial = referral.note
        chosen = str(self.data.get("household", ""))
        if not chosen.isdigit():
            chosen = candidates[0].pk if len(candidates) == 1 else None
        self.members_of(candidates.filter(pk=chosen).first() if chosen else None)
        if len(candidates) == 1:
            self.fields["household"].initial = candidates[0].pk


class RejectFlag(forms.Form):
    reason = model_field(
        Referral, "rejection_reason", label=_("不予受理理由"), required=True, widget=textarea(2)
    )


# What the note of each move is, and the moves that take documents (photos, scanned records).
MOVE_NOTES = {
    CaseState.HOME_VISIT: _("受理意见"),
    CaseState.ECONOMIC_CHECK: _("入户调查情况"),
    CaseState.TOWNSHIP_REVIEW: _("经济状况核对结果"),
    CaseState.PUBLIC_NOTICE: _("乡镇审核意见"),
    CaseState.REFUSED: _("不予批准理由"),
    CaseState.APPROVAL: _("报送意见"),
    CaseState.WITHDRAWN: _("撤回原因"),
}
WITH_DOCUMENTS = frozenset(
    {CaseState.HOME_VISIT, CaseState.ECONOMIC_CHECK, CaseState.TOWNSHIP_REVIEW}
)


class MoveForm(forms.Form):
    """One move of an application to ``target``: the caseworker's note and, for the steps of
    investigation, its documents. Prefixed with the target, so each move's form on the page
    keeps its own input."""

    comment = model_field(CaseStep, "comment", label=_("意见"), widget=textarea())
    attachments = AttachmentsField(label=_("照片和扫描件"), required=False)

    def __init__(self, *args, target: str, **kwargs):
        super().__init__(*args, prefix=target, **kwargs)
        self.target = target
        self.fields["comment"].label = MOVE_NOTES.get(target, _("意见"))
        if target not in WITH_DOCUMENTS:
            del self.fields["attachments"]


class ObjectionForm(forms.Form):
    raised_by_name = model_field(Objection, "raised_by_name", label=_("异议人（可不填）"))
    content = model_field(Objection, "content", label=_("异议内容"), widget=textarea())


class ResolveForm(forms.Form):
    resolution = model_field(
        Objection, "resolution", label=_("核实处理结果"), required=True, widget=textarea(2)
    )


DECISIONS = [("approve", _("批准")), ("reject", _("不予批准"))]


class ReliefDecisionForm(forms.Form):
    """The second signature on a relief case: approve, or refuse with the reason the household
    is told (``decide_relief`` requires it)."""

    decision = forms.ChoiceField(choices=DECISIONS)
    reason = model_field(
        ReliefCase,
        "refusal_reason",
        label=_("不予救助理由（不予救助时必填）"),
        required=False,
        widget=textarea(2),
    )


class ApplicationDecisionForm(forms.Form):
    """The approver's decision on a case in approval: approve, or refuse with the reason
    (``move_application`` requires it)."""

    decision = forms.ChoiceField(choices=DECISIONS)
    comment = model_field(
        CaseStep,
        "comment",
        label=_("审批意见（不予批准时必填）"),
        required=False,
        widget=textarea(2),
    )


class ChangeDecisionForm(forms.Form):
    """The second signature on a proposed change: approve, or reject with a reason
    (``reject_change`` requires it)."""

    decision = forms.ChoiceField(choices=DECISIONS)
    note = model_field(
        ChangeRequest,
        "decision_note",
        label=_("审批意见（不予批准时必填）"),
        required=False,
        widget=textarea(2),
    )


class MonthInput(forms.DateInput):
    input_type = "month"

    def format_value(self, value):
        if isinstance(value, datetime.date):
            return f"{value:%Y-%m}"
        return value


class MonthField(forms.DateField):
    widget = MonthInput
    input_formats = ["%Y-%m"]


class ReliefForm(forms.Form):
    """A temporary relief case; the amount is checked by the service (and shown as typed)."""

    household = forms.IntegerField(label=_("家庭编号"), min_value=1, max_value=2**63 - 1)
    kind = forms.ChoiceField(label=_("救助类型"), choices=ReliefCase.Kind.choices)
    cause = forms.ChoiceField(label=_("事由"), choices=ReliefCase.Cause.choices)
    need = model_field(ReliefCase, "need", label=_("困难情况"), widget=textarea())
    cost = model_field(
        ReliefCase,
        "cost",
        label=_("自付费用/损失（元）"),
        required=False,
        help_text=_("医疗救助按自付费用计算上限。"),
    )
    proposed_amount = model_field(ReliefCase, "proposed_amount", label=_("拟救助金额（元）"))
    pay_first = forms.BooleanField(
        label=_("先行救助（急难型，乡镇限额内，先发放后补齐材料）"), required=False
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_household(self) -> Household:
        number = self.cleaned_data["household"]
        household = scope(Household.objects.all(), user=self.user).filter(pk=number).first()
        if household is None:
            raise forms.ValidationError(
                _("您的辖区内没有编号为 %(number)s 的家庭。") % {"number": number}
            )
        return household


class InstalmentForm(forms.Form):
    month = MonthField(label=_("发放月份"), required=False)
    amount = model_field(ReliefInstalment, "amount", label=_("金额（元）"), required=False)

    def clean(self):
        data = super().clean()
        if bool(data.get("month")) != (data.get("amount") is not None):
            raise forms.ValidationError(_("每期须填写月份和金额。"))
        return data


InstalmentFormSet = forms.formset_factory(InstalmentForm, extra=4, max_num=12)


def instalment_plan(formset) -> list[tuple[datetime.date, Decimal]] | None:
    """The (month, amount) pairs typed, or None for one payment this month."""
    plan = [
        (form.cleaned_data["month"], form.cleaned_data["amount"])
        for form in formset
        if form.cleaned_data.get("month")
    ]
    return plan or None
