"""The Django admin of the registry, scoped like the API (``core.admin``): forms save through the
registry services. Grid workers have no registry access here either (they see their referrals in
casework). Moves of people are made in casework's admin, with their casework consequences.
Administrators make and revoke service accounts and API tokens here (a token's secret is shown
once, after it is issued); service accounts are not listed among the users.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from beneficiaries import service_accounts, services, signin
from beneficiaries.models import (
    ApiToken,
    Asset,
    Household,
    IncomeItem,
    Member,
    Region,
    ServiceAccount,
    SignInUnlock,
    User,
)
from core import policy
from core.admin import PolicyAdminMixin, ScopedAdminMixin, ServiceAdminForm, ServiceAdminMixin
from core.exceptions import DomainError
from core.service_scopes import ServiceScope


def _changed(form, data: dict, fields) -> dict:
    return {name: data[name] for name in fields if name in form.changed_data}


class HouseholdForm(ServiceAdminForm):
    class Meta:
        model = Household
        fields = ["village", "address", "hukou_type", "bank_name", "bank_account_holder",
                  "bank_account_number"]  # fmt: skip

    def perform(self, data):
        if self.instance.pk is None:
            return services.register_household(by=self.user, **data)
        changes = _changed(self, data, services.HOUSEHOLD_ATTRIBUTES)
        return services.update_household(household=self.instance, by=self.user, **changes)


class MemberInline(admin.TabularInline):
    model = Member
    fields = ["name", "id_number", "relation", "birth_date", "sex", "is_alive", "is_active"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return policy.allows(request.user, "member")


@admin.register(Household)
class HouseholdAdmin(ServiceAdminMixin, admin.ModelAdmin):
    resource = "household"
    read_log_name = "household"
    read_household = None
    form = HouseholdForm
    list_display = ["id", "address", "village", "hukou_type", "head", "status"]
    list_filter = ["status", "hukou_type"]
    search_fields = ["address", "members__name", "=members__id_number"]
    list_select_related = ["village", "head"]
    inlines = [MemberInline]

    def get_readonly_fields(self, request, obj=None):
        fixed = ["region_code", "head", "status"]
        return ["village", *fixed] if obj is not None else fixed


class MemberForm(ServiceAdminForm):
    class Meta:
        model = Member
        fields = ["household", "name", "id_number", "relation",
                  *sorted(services.MEMBER_ATTRIBUTES)]  # fmt: skip

    def perform(self, data):
        attributes = {name: data[name] for name in services.MEMBER_ATTRIBUTES if name in data}
        if self.instance.pk is None:
            return services.add_member(
                household=data["household"],
                name=data["name"],
                id_number=data["id_number"],
                relation=data["relation"],
                by=self.user,
                **attributes,
            )
        editable = {"name", "id_number", "relation", *services.MEMBER_ATTRIBUTES}
        return services.update_member(
            member=self.instance, by=self.user, **_changed(self, data, editable)
        )


@admin.action(description=_("设为户主"))
def make_head(modeladmin, request, queryset):
    for member in queryset.select_related("household"):
        try:
            services.set_head(household=member.household, member=member, by=request.user)
        except DomainError as error:
            modeladmin.message_user(request, f"{member}: {error.message}", messages.ERROR)


@admin.register(Member)
class MemberAdmin(ServiceAdminMixin, admin.ModelAdmin):
    resource = "member"
    read_log_name = "member"
    form = MemberForm
    actions = [make_head]
    scope_field = "household__region_code"
    list_display = ["id", "name", "id_number", "relation", "household", "is_alive", "is_active"]
    list_filter = ["is_active", "is_alive", "relation", "disability_category", "serious_illness"]
    search_fields = ["name", "=id_number"]
    list_select_related = ["household"]

    def get_readonly_fields(self, request, obj=None):
        derived = ["birth_date", "sex", "is_alive", "death_date", "is_active"]
        return ["household", *derived] if obj is not None else derived


class IncomeItemForm(ServiceAdminForm):
    class Meta:
        model = IncomeItem
        fields = ["member", "type", "monthly_amount", "valid_from", "valid_to", "note"]

    def perform(self, data):
        if self.instance.pk is None:
            return services.add_income(by=self.user, **data)
        if data.get("valid_to") is None:
            raise DomainError(_("请填写截止日期"), field="valid_to", code="required")
        return services.end_income(income=self.instance, valid_to=data["valid_to"], by=self.user)


@admin.register(IncomeItem)
class IncomeItemAdmin(ServiceAdminMixin, admin.ModelAdmin):
    resource = "income"
    read_log_name = "income"
    read_household = "member.household"
    form = IncomeItemForm
    scope_field = "member__household__region_code"
    list_display = ["id", "member", "type", "monthly_amount", "valid_from", "valid_to"]
    list_filter = ["type"]
    search_fields = ["member__name", "=member__id_number"]
    list_select_related = ["member"]

    def get_readonly_fields(self, request, obj=None):
        # An income is ended, never rewritten: past months were assessed with it.
        return ["member", "type", "monthly_amount", "valid_from", "note"] if obj else []


class AssetForm(ServiceAdminForm):
    class Meta:
        model = Asset
        fields = ["household", "kind", "value", "description"]

    def perform(self, data):
        return services.add_asset(by=self.user, **data)


@admin.register(Asset)
class AssetAdmin(ServiceAdminMixin, admin.ModelAdmin):
    resource = "asset"
    read_log_name = "asset"
    form = AssetForm
    scope_field = "household__region_code"
    list_display = ["id", "household", "kind", "value", "description"]
    list_filter = ["kind"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)


@admin.register(Region)
class RegionAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Regions are reference data: every role reads its subtree, only superusers edit."""

    scope_field = "code"
    resource = "region"
    list_display = ["code", "name", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name"]


# Rights come from a user's role (core.policy), never from groups.
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(ScopedAdminMixin, DjangoUserAdmin):
    """Administrators manage the users of their subtree; nobody but a superuser makes one."""

    scope_field = "region__code"
    resource = "user"
    list_display = ["username", "first_name", "last_name", "role", "region", "is_active"]
    list_filter = ["role", "is_active"]
    list_select_related = ["region"]
    add_fieldsets = ((None, {"fields": ("username", "password1", "password2", "role", "region")}),)
    actions = ["unlock_sign_in"]

    @admin.action(description=_("解除所选用户的登录锁定"))
    def unlock_sign_in(self, request, queryset):
        for user in queryset:
            try:
                entry = signin.unlock(by=request.user, username=user.username)
            except DomainError as error:
                self.message_user(request, str(error.message), messages.ERROR)
                return
            self.message_user(
                request,
                _("已解除 %(user)s 的登录锁定(清除 %(n)s 条失败记录)。")
                % {"user": user.username, "n": entry.attempts},
            )

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.add_fieldsets
        if request.user.is_superuser:
            return (
                *DjangoUserAdmin.fieldsets,
                (_("角色"), {"fields": ("role", "region")}),
            )
        return (
            (None, {"fields": ("username", "password")}),
            (None, {"fields": ("first_name", "last_name", "email", "role", "region")}),
            (None, {"fields": ("is_active", "last_login", "date_joined")}),
        )

    def get_queryset(self, request):
        # Service accounts are managed on their own page, through their service.
        return super().get_queryset(request).filter(is_service_account=False)

    def get_readonly_fields(self, request, obj=None):
        return ["last_login", "date_joined"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if "region" in form.base_fields:
            # A user without a region sees nothing and is refused everywhere.
            form.base_fields["region"].required = True
        return form

    def save_model(self, request, obj, form, change):
        # Role users reach the scoped admin through is_staff; their rights come from the role.
        obj.is_staff = True
        super().save_model(request, obj, form, change)


@admin.register(SignInUnlock)
class SignInUnlockAdmin(PolicyAdminMixin, admin.ModelAdmin):
    """Who lifted which sign-in lockout, read-only (the rows are append-only)."""

    resource = "sign-in-unlock"
    list_display = ["at", "username", "ip_address", "attempts", "unlocked_by"]
    list_select_related = ["unlocked_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ServiceAccountForm(ServiceAdminForm):
    username = forms.CharField(label=_("用户名"), max_length=150)
    region = forms.ModelChoiceField(label=_("区划"), queryset=Region.objects.all())
    scopes = forms.MultipleChoiceField(
        label=_("权限范围"), choices=ServiceScope.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ServiceAccount
        fields = ["description"]

    def perform(self, data):
        return service_accounts.create_service_account(
            username=data["username"],
            region=data["region"],
            scopes=data["scopes"],
            description=data["description"],
            by=self.user,
        )


@admin.register(ServiceAccount)
class ServiceAccountAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """Partner systems' accounts: made with their region and scopes, then only revoked."""

    form = ServiceAccountForm
    scope_field = "user__region__code"
    resource = "user"
    list_display = ["user", "region", "scope_list", "description", "created_at", "revoked_at"]
    list_select_related = ["user__region"]
    readonly_fields = ["user", "region", "scope_list", "description", "created_by", "created_at",
                       "revoked_at"]  # fmt: skip
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["username", "region", "scopes", "description"]
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            form.base_fields["region"].queryset = Region.objects.filter(
                code__startswith=request.user.region_prefix
            )
        return form

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("区划"))
    def region(self, account):
        return account.user.region

    @admin.display(description=_("权限范围"))
    def scope_list(self, account):
        return "；".join(account.scope_labels())

    @admin.action(description=_("停用所选服务账号及其令牌"))
    def revoke(self, request, queryset):
        for account in queryset.select_related("user__region"):
            try:
                service_accounts.revoke_service_account(account=account, by=request.user)
            except DomainError as error:
                self.message_user(request, str(error.message), messages.ERROR)
                return
        self.message_user(request, _("已停用，令牌立即失效。"), messages.SUCCESS)


class ApiTokenForm(ServiceAdminForm):
    days = forms.IntegerField(label=_("有效天数"), min_value=1, initial=90)

    class Meta:
        model = ApiToken
        fields = ["user", "name"]

    def perform(self, data):
        token, self.secret = service_accounts.issue_token(
            user=data["user"], name=data["name"], days=data["days"], by=self.user
        )
        return token


@admin.register(ApiToken)
class ApiTokenAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """API tokens: issued here (the secret is shown once, on the next page), then only revoked."""

    form = ApiTokenForm
    scope_field = "user__region__code"
    resource = "user"
    list_display = ["token_key", "user", "name", "created", "expiry", "last_used_at", "revoked_at"]
    list_filter = ["user__is_service_account"]
    list_select_related = ["user"]
    search_fields = ["token_key", "user__username", "name"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "name", "days"]
        return self.get_readonly_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["token_key", "user", "name", "issued_by", "created", "expiry", "last_used_at",
                "revoked_at", "revoked_by"]  # fmt: skip

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "user":
            field.queryset = User.objects.filter(
                region__code__startswith=request.user.region_prefix, is_active=True
            )
        return field

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        self.message_user(
            request,
            _("令牌只显示这一次，请立即交给对接系统保存：%(secret)s") % {"secret": form.secret},
            messages.WARNING,
        )

    @admin.action(description=_("吊销所选令牌"))
    def revoke(self, request, queryset):
        for token in queryset.select_related("user__region"):
            try:
                service_accounts.revoke_token(token=token, by=request.user)
            except DomainError as error:
                self.message_user(request, str(error.message), messages.ERROR)
                return
        self.message_user(request, _("已吊销，令牌立即失效。"), messages.SUCCESS)
