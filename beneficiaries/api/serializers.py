"""Serializers of the registry API: small input serializers per write, output ones per model.

Inputs only parse and type-check; the rules live in ``beneficiaries.services``.
"""

from rest_framework import serializers

from beneficiaries.models import (
    Asset,
    Household,
    IncomeItem,
    IncomeType,
    Member,
    MemberMove,
    ReadEntry,
    Region,
)
from core.api import ResidentIdField, ScopedPrimaryKeyRelatedField
from core.fields import input_field
from core.uploads import UploadField

# ---- output -------------------------------------------------------------------------------


class RegionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["id", "code", "name", "level", "parent"]


class MemberSerializer(serializers.ModelSerializer):
    id_number = ResidentIdField(read_only=True)

    class Meta:
        model = Member
        fields = [
            "id",
            "household",
            "name",
            "id_number",
            "birth_date",
            "sex",
            "relation",
            "disability_category",
            "disability_grade",
            "serious_illness",
            "work_ability",
            "schooling",
            "employment",
            "is_alive",
            "death_date",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class HouseholdSerializer(serializers.ModelSerializer):
    village_name = serializers.CharField(source="village.name", read_only=True)
    head_name = serializers.CharField(
        source="head.name", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = Household
        fields = [
            "id",
            "village",
            "village_name",
            "region_code",
            "address",
            "hukou_type",
            "head",
            "head_name",
            "bank_name",
            "bank_account_holder",
            "bank_account_number",
            "status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class HouseholdDetailSerializer(HouseholdSerializer):
    members = serializers.SerializerMethodField()

    class Meta(HouseholdSerializer.Meta):
        fields = [*HouseholdSerializer.Meta.fields, "members"]
        read_only_fields = fields

    def get_members(self, household) -> list[dict]:
        active = household.members.filter(is_active=True)
        return MemberSerializer(active, many=True, context=self.context).data


class IncomeItemSerializer(serializers.ModelSerializer):
    household = serializers.IntegerField(source="member.household_id", read_only=True)
    is_counted = serializers.BooleanField(read_only=True)

    class Meta:
        model = IncomeItem
        fields = [
            "id",
            "member",
            "household",
            "type",
            "is_counted",
            "monthly_amount",
            "valid_from",
            "valid_to",
            "note",
            "created_at",
        ]
        read_only_fields = fields


class AssetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Asset
        fields = ["id", "household", "kind", "description", "value", "created_at"]
        read_only_fields = fields


class ReadEntrySerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    role = serializers.CharField(source="user.role", read_only=True)
    service_account = serializers.BooleanField(source="user.is_service_account", read_only=True)
    token = serializers.CharField(source="token.token_key", read_only=True, default=None)

    class Meta:
        model = ReadEntry
        fields = [
            "id",
            "at",
            "user",
            "role",
            "what",
            "household",
            "region_code",
            "rows",
            "query",
            "ip_address",
            "path",
            "service_account",
            "token",
        ]
        read_only_fields = fields


class MemberMoveSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="to_member.name", read_only=True)
    id_number = ResidentIdField(source="to_member.id_number", read_only=True)
    from_household = serializers.IntegerField(source="from_member.household_id", read_only=True)
    to_household = serializers.IntegerField(source="to_member.household_id", read_only=True)
    moved_by = serializers.CharField(source="moved_by.username", read_only=True)

    class Meta:
        model = MemberMove
        fields = [
            "id",
            "name",
            "id_number",
            "from_member",
            "to_member",
            "from_household",
            "to_household",
            "moved_on",
            "reason",
            "moved_by",
            "created_at",
        ]
        read_only_fields = fields


# ---- input --------------------------------------------------------------------------------


def _household_field(**kwargs):
    return ScopedPrimaryKeyRelatedField(queryset=Household.objects.all(), **kwargs)


def _member_field(**kwargs):
    return ScopedPrimaryKeyRelatedField(
        queryset=Member.objects.select_related("household"),
        scope_field="household__region_code",
        **kwargs,
    )


class HouseholdInput(serializers.Serializer):
    village = ScopedPrimaryKeyRelatedField(queryset=Region.objects.all(), scope_field="code")
    address = input_field(Household, "address")
    hukou_type = serializers.ChoiceField(choices=Household.HukouType.choices)
    bank_name = input_field(Household, "bank_name")
    bank_account_holder = input_field(Household, "bank_account_holder")
    bank_account_number = input_field(Household, "bank_account_number")


class HouseholdUpdateInput(serializers.Serializer):
    address = input_field(Household, "address", required=False)
    hukou_type = serializers.ChoiceField(choices=Household.HukouType.choices, required=False)
    bank_name = input_field(Household, "bank_name")
    bank_account_holder = input_field(Household, "bank_account_holder")
    bank_account_number = input_field(Household, "bank_account_number")


class SetHeadInput(serializers.Serializer):
    member = _member_field()
    previous_head_relation = serializers.ChoiceField(
        choices=Member.Relation.choices, required=False, default=Member.Relation.OTHER
    )


class MemberAttributesInput(serializers.Serializer):
    disability_category = serializers.ChoiceField(
        choices=Member.DisabilityCategory.choices, required=False, allow_blank=True
    )
    disability_grade = serializers.IntegerField(
        min_value=1, max_value=4, required=False, allow_null=True
    )
    serious_illness = serializers.BooleanField(required=False)
    work_ability = serializers.ChoiceField(choices=Member.WorkAbility.choices, required=False)
    schooling = serializers.ChoiceField(choices=Member.Schooling.choices, required=False)
    employment = serializers.ChoiceField(choices=Member.Employment.choices, required=False)


class MemberInput(MemberAttributesInput):
    household = _household_field()
    name = input_field(Member, "name")
    id_number = serializers.CharField(max_length=18)
    relation = serializers.ChoiceField(choices=Member.Relation.choices)


class MemberUpdateInput(MemberAttributesInput):
    name = input_field(Member, "name", required=False)
    id_number = serializers.CharField(max_length=18, required=False)
    relation = serializers.ChoiceField(choices=Member.Relation.choices, required=False)


class IncomeInput(serializers.Serializer):
    member = _member_field()
    type = serializers.ChoiceField(choices=IncomeType.choices)
    monthly_amount = input_field(IncomeItem, "monthly_amount")
    valid_from = input_field(IncomeItem, "valid_from")
    valid_to = input_field(IncomeItem, "valid_to")
    note = input_field(IncomeItem, "note")


class IncomeEndInput(serializers.Serializer):
    valid_to = input_field(IncomeItem, "valid_to", required=True, allow_null=False)


class AssetInput(serializers.Serializer):
    household = _household_field()
    kind = serializers.ChoiceField(choices=Asset.Kind.choices)
    value = input_field(Asset, "value")
    description = input_field(Asset, "description")


class MemberMoveInput(serializers.Serializer):
    member = _member_field()
    to_household = _household_field()
    moved_on = input_field(MemberMove, "moved_on")
    reason = input_field(MemberMove, "reason")
    relation = serializers.ChoiceField(
        choices=Member.Relation.choices, required=False, default=Member.Relation.OTHER
    )


class ImportInput(serializers.Serializer):
    file = UploadField()
    village_scope = ScopedPrimaryKeyRelatedField(
        queryset=Region.objects.all(),
        scope_field="code",
        required=False,
        allow_null=True,
        help_text="Only villages under this region may appear in the file.",
    )


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    column = serializers.CharField()
    message = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    households = serializers.IntegerField()
    members = serializers.IntegerField()
    incomes = serializers.IntegerField()
    errors = ImportErrorSerializer(many=True)
