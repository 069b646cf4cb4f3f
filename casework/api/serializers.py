"""Casework API: small input serializers (parsed, then handed to one service) and outputs."""

from django.utils import timezone
from rest_framework import serializers

from beneficiaries.models import Household, Member, MemberCondition, Region
from casework import parameters
from casework.models import (
    Adjustment,
    Application,
    CareLevel,
    CaseState,
    CaseStep,
    Category,
    ChangeRequest,
    Enrolment,
    Objection,
    Referral,
    ReliefCase,
    ReliefInstalment,
    Review,
    ReviewClass,
    StepAttachment,
)
from core.api import ResidentIdField, ScopedPrimaryKeyRelatedField
from core.fields import check_effective_month, input_field
from core.months import first_of_month
from core.serializers import MonthField
from core.uploads import UploadField

# The most a gradual exit may last: the city's parameter is 6 months, longer where a member is
# severely disabled or seriously ill; nothing in policy reaches three years.
GRADUAL_EXIT_MONTHS_MAX = 36


def household_field(**kwargs):
    return ScopedPrimaryKeyRelatedField(queryset=Household.objects.all(), **kwargs)


def member_field(**kwargs):
    return ScopedPrimaryKeyRelatedField(
        queryset=Member.objects.all(), scope_field="household__region_code", **kwargs
    )


class EffectiveMonthField(MonthField):
    """The month a change a user enters takes effect in: within the back-pay window of the
    region (the policy parameter ``back_pay_months`` of the enrolment's region, else the user's)
    and at most a year ahead (core.fields.check_effective_month)."""

    def __init__(self, *, approver_signs: bool = False, **kwargs):
        # A proposal that a county approver signs may reach back before the back-pay window
        # (changes.approve_change asks for that approver's role when it does).
        self.approver_signs = approver_signs
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        month = super().to_internal_value(value)
        check_effective_month(
            month, back_months=int(self._back_pay_months()), approved=self.approver_signs
        )
        return month

    def _back_pay_months(self):
        view = self.context.get("view")
        request = self.context.get("request")
        if view is not None and getattr(view, "detail", False):
            region_code = view.get_object().region_code
        elif request is not None and getattr(request.user, "region", None) is not None:
            region_code = request.user.region.code
        else:
            return parameters.DEFAULTS["back_pay_months"]
        return parameters.parameter(
            region_code=region_code,
            component="back_pay_months",
            on=first_of_month(timezone.localdate()),
        )


# Referrals


class ReferralSerializer(serializers.ModelSerializer):
    id_number = ResidentIdField(read_only=True)
    village_name = serializers.CharField(source="village.name", read_only=True)
    # Whether a photo came with the flag; the photo itself is shown on the grid worker's page
    # only (media files are not served publicly).
    has_photo = serializers.SerializerMethodField()

    def get_has_photo(self, referral) -> bool:
        return bool(referral.photo)

    class Meta:
        model = Referral
        fields = [
            "id",
            "name",
            "id_number",
            "village",
            "village_name",
            "region_code",
            "address",
            "reason",
            "note",
            "has_photo",
            "status",
            "rejection_reason",
            "application",
            "flagged_by",
            "handled_by",
            "handled_at",
            "created_at",
        ]
        read_only_fields = fields


class ReferralInput(serializers.Serializer):
    name = input_field(Referral, "name")
    id_number = serializers.CharField(max_length=18, required=False, allow_blank=True)
    village = ScopedPrimaryKeyRelatedField(
        queryset=Region.objects.filter(level=Region.Level.VILLAGE), scope_field="code"
    )
    address = input_field(Referral, "address", default="")
    reason = serializers.ChoiceField(choices=Referral.Reason.choices)
    note = input_field(Referral, "note")
    photo = UploadField(required=False)
    idempotency_key = serializers.UUIDField(
        required=False,
        help_text="A UUID made by the client for this flag: sent again, the same flag is "
        "answered (200) instead of a second one.",
    )


class RejectInput(serializers.Serializer):
    reason = input_field(Referral, "rejection_reason", required=True, allow_blank=False)


class ApplicationInput(serializers.Serializer):
    household = household_field()
    category = serializers.ChoiceField(choices=Category.choices)
    member = member_field(required=False, allow_null=True)
    care_level = serializers.ChoiceField(
        choices=CareLevel.choices, required=False, allow_blank=True, default=""
    )
    review_class = serializers.ChoiceField(choices=ReviewClass.choices, default=ReviewClass.STABLE)
    comment = input_field(CaseStep, "comment", default="")


# Applications


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = StepAttachment
        fields = ["id", "name", "file", "uploaded_at"]


class CaseStepSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username")
    attachments = AttachmentSerializer(many=True)

    class Meta:
        model = CaseStep
        fields = ["id", "from_state", "to_state", "actor", "comment", "at", "attachments"]


class ObjectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Objection
        fields = [
            "id",
            "raised_by_name",
            "content",
            "recorded_by",
            "recorded_at",
            "resolution",
            "resolved_by",
            "resolved_at",
        ]
        read_only_fields = fields


class ApplicationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Application
        fields = [
            "id",
            "household",
            "member",
            "region_code",
            "category",
            "review_class",
            "care_level",
            "state",
            "step_due",
            "step_due_provisional",
            "notice_ends",
            "notice_ends_provisional",
            "refusal_reason",
            "enrolment",
            "submitted_by",
            "submitted_on",
        ]
        read_only_fields = fields


class ApplicationDetailSerializer(ApplicationSerializer):
    steps = CaseStepSerializer(many=True, read_only=True)
    objections = ObjectionSerializer(many=True, read_only=True)

    class Meta(ApplicationSerializer.Meta):
        fields = [*ApplicationSerializer.Meta.fields, "steps", "objections"]
        read_only_fields = fields


class MoveInput(serializers.Serializer):
    to = serializers.ChoiceField(choices=CaseState.choices)
    comment = input_field(CaseStep, "comment", default="")
    attachments = serializers.ListField(
        child=UploadField(), required=False, default=list, max_length=10
    )


class ObjectionInput(serializers.Serializer):
    content = input_field(Objection, "content")
    raised_by_name = input_field(Objection, "raised_by_name", default="")


class ResolveInput(serializers.Serializer):
    resolution = input_field(Objection, "resolution", required=True, allow_blank=False)


# Enrolments and adjustments


class AdjustmentSerializer(serializers.ModelSerializer):
    household = serializers.IntegerField(source="enrolment.household_id", read_only=True)
    category = serializers.CharField(source="enrolment.category", read_only=True)
    proposed_by = serializers.CharField(
        source="proposed_by.username", default=None, allow_null=True
    )
    approved_by = serializers.CharField(
        source="approved_by.username", default=None, allow_null=True
    )

    class Meta:
        model = Adjustment
        fields = [
            "id",
            "enrolment",
            "household",
            "category",
            "region_code",
            "kind",
            "reason_code",
            "reason_text",
            "effective_month",
            "amount_before",
            "amount_after",
            "proposed_by",
            "approved_by",
            "created_at",
        ]
        read_only_fields = fields


class EnrolmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Enrolment
        fields = [
            "id",
            "household",
            "member",
            "region_code",
            "category",
            "status",
            "start_month",
            "end_month",
            "review_class",
            "care_level",
            "gradual_exit_amount",
            "gradual_exit_until",
            "next_review_due",
        ]
        read_only_fields = fields


class EnrolmentDetailSerializer(EnrolmentSerializer):
    adjustments = AdjustmentSerializer(many=True, read_only=True)

    class Meta(EnrolmentSerializer.Meta):
        fields = [*EnrolmentSerializer.Meta.fields, "adjustments"]
        read_only_fields = fields


class ChangeInput(serializers.Serializer):
    effective_month = EffectiveMonthField(approver_signs=True)
    reason_code = input_field(Adjustment, "reason_code")
    reason_text = input_field(Adjustment, "reason_text")


class GradualExitInput(ChangeInput):
    amount = input_field(Enrolment, "gradual_exit_amount", allow_null=False)
    months = serializers.IntegerField(
        min_value=1, max_value=GRADUAL_EXIT_MONTHS_MAX, required=False
    )


class ChangeRequestSerializer(serializers.ModelSerializer):
    proposed_by = serializers.CharField(source="proposed_by.username", read_only=True)
    decided_by = serializers.CharField(
        source="decided_by.username", default=None, allow_null=True, read_only=True
    )

    class Meta:
        model = ChangeRequest
        fields = [
            "id",
            "enrolment",
            "region_code",
            "kind",
            "effective_month",
            "reason_code",
            "reason_text",
            "amount",
            "months",
            "status",
            "proposed_by",
            "decided_by",
            "decided_at",
            "decision_note",
            "adjustment",
            "created_at",
        ]
        read_only_fields = fields


class ChangeDecisionInput(serializers.Serializer):
    note = input_field(ChangeRequest, "decision_note", default="")


class ReviewInput(serializers.Serializer):
    note = input_field(Review, "note", required=True, allow_blank=False)
    change = serializers.ChoiceField(
        choices=["", "increase", "decrease", "stop", "gradual_exit"], required=False, default=""
    )
    effective_month = EffectiveMonthField(required=False)


class ReviewSerializer(serializers.ModelSerializer):
    class Meta:
        model = Review
        fields = [
            "id",
            "enrolment",
            "due_on",
            "outcome",
            "note",
            "adjustment",
            "change_request",
            "reviewed_by",
        ]
        read_only_fields = fields


class TimelineEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    summary = serializers.CharField()
    actor = serializers.CharField()
    ref = serializers.DictField()


class TimelineSerializer(serializers.Serializer):
    household = serializers.IntegerField()
    entries = TimelineEntrySerializer(many=True)


class DeathInput(serializers.Serializer):
    member = member_field()
    died_on = input_field(Member, "death_date", required=True, allow_null=False)


class ConditionInput(serializers.Serializer):
    """A member's health facts from a month on; the facts not given carry over."""

    member = member_field()
    effective_month = EffectiveMonthField()
    reason = input_field(MemberCondition, "reason")
    serious_illness = serializers.BooleanField(required=False)
    disability_grade = serializers.IntegerField(
        min_value=1, max_value=4, required=False, allow_null=True
    )
    disability_category = serializers.ChoiceField(
        choices=Member.DisabilityCategory.choices, required=False, allow_blank=True
    )
    care_level = serializers.ChoiceField(
        choices=MemberCondition.CareLevel.choices, required=False, allow_blank=True
    )


# Temporary relief


class InstalmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReliefInstalment
        fields = ["id", "due_month", "amount", "paid_batch", "paid_at"]
        read_only_fields = fields


class ReliefSerializer(serializers.ModelSerializer):
    instalments = InstalmentSerializer(many=True, read_only=True)

    class Meta:
        model = ReliefCase
        fields = [
            "id",
            "household",
            "region_code",
            "kind",
            "cause",
            "need",
            "cost",
            "proposed_amount",
            "tier",
            "status",
            "pay_first",
            "documents_due",
            "documents_due_provisional",
            "documents_completed_at",
            "refusal_reason",
            "created_by",
            "decided_by",
            "decided_at",
            "instalments",
        ]
        read_only_fields = fields


class InstalmentInput(serializers.Serializer):
    month = EffectiveMonthField()
    amount = input_field(ReliefInstalment, "amount")


class ReliefInput(serializers.Serializer):
    household = household_field()
    kind = serializers.ChoiceField(choices=ReliefCase.Kind.choices)
    cause = serializers.ChoiceField(choices=ReliefCase.Cause.choices)
    need = input_field(ReliefCase, "need")
    proposed_amount = input_field(ReliefCase, "proposed_amount")
    cost = input_field(ReliefCase, "cost", allow_null=False)
    pay_first = serializers.BooleanField(default=False)
    instalments = InstalmentInput(many=True, required=False, max_length=24)

    def validate_instalments(self, value):
        return [(row["month"], row["amount"]) for row in value]


class DecideInput(serializers.Serializer):
    approve = serializers.BooleanField()
    reason = input_field(ReliefCase, "refusal_reason", default="")
