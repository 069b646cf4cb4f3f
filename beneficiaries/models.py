"""The registry: regions, users with a role and a region, households, members, income and assets."""

import datetime
from decimal import Decimal

import pghistory
import pgtrigger
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from knox.models import AbstractAuthToken, AuthTokenManager

from core.fields import (
    ASSET_CEILING,
    EARLIEST_BIRTH,
    EARLIEST_RECORD,
    INCOME_CEILING,
    LineField,
    MoneyField,
    NotAfterToday,
    money_check,
    not_before,
)
from core.fields import (
    MONEY as MONEY,  # the apps' amounts use the one definition
)
from core.roles import Role
from core.service_scopes import ServiceScope


class Region(models.Model):
    """An administrative region with its 12-digit code (GB/T 2260 + township and village digits).

    The code is hierarchical: 32 province, 3211 city, 321102 county, 321102001 township,
    321102001001 village. A region's subtree is every code that starts with its prefix.
    """

    class Level(models.TextChoices):
        PROVINCE = "province", _("省")
        CITY = "city", _("市")
        COUNTY = "county", _("县/区")
        TOWNSHIP = "township", _("乡镇/街道")
        VILLAGE = "village", _("村/社区")

    PREFIX_LENGTH = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}
    # The region code a record of this model is scoped by (core.admin.ScopedAdminMixin).
    scope_field = "code"

    code = models.CharField(_("行政区划代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("层级"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9]{12}$"), name="region_code_12_digits"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def prefix(self) -> str:
        return self.prefix_of(code=self.code, level=self.level)

    @classmethod
    def prefix_of(cls, *, code: str, level: str) -> str:
        """The prefix every code in the region's subtree starts with: its level's digits of the
        code (the city 321000000000 is "3210", not the code without its trailing zeros)."""
        return code[: cls.PREFIX_LENGTH[level]]

    @property
    def city_code(self) -> str:
        return self.code[:4]


class StaffUserManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        """``createsuperuser`` makes an administrator of the region it asks for (its id, e.g. the
        province's): a superuser's reach is its role and region like anyone's."""
        extra_fields.setdefault("role", Role.ADMIN)
        region = extra_fields.get("region")
        if region is not None and not isinstance(region, Region):
            extra_fields["region"] = Region.objects.get(pk=region)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A staff user: one role, one region; everything they see is scoped to the region's subtree.
    A user without a region sees nothing and is refused until an administrator assigns one."""

    Role = Role
    REQUIRED_FIELDS = ["email", "region"]

    objects = StaffUserManager()

    role = models.CharField(_("角色"), max_length=20, choices=Role.choices, default=Role.CASEWORKER)
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    # A partner system's principal (ServiceAccount): no password, no page, no admin; API tokens.
    is_service_account = models.BooleanField(_("服务账号"), default=False, editable=False)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        constraints = [
            models.CheckConstraint(
                condition=Q(is_service_account=False) | Q(is_staff=False, is_superuser=False),
                name="service_account_not_staff",
            ),
        ]

    @property
    def region_prefix(self) -> str:
        """The code prefix of the user's subtree. Without a region it matches no code: a missing
        region never means "everywhere" (an administrator's reach is the province's code)."""
        if self.region_id is None:
            return "-"
        return self.region.prefix


@pghistory.track()
class ServiceAccount(models.Model):
    """A partner system (服务账号): the economic-checking centre, a bank, a provincial platform.

    Its user row (``is_service_account``) holds the region whose subtree it sees and the role its
    scopes need; the scopes (``core.service_scopes``) name the API routes it may call. It calls
    with tokens only: the sign-in backend, the pages and the admin refuse it. Made and revoked by
    an administrator through ``beneficiaries.service_accounts``.
    """

    user = models.OneToOneField(
        User, on_delete=models.PROTECT, primary_key=True, related_name="service_account"
    )
    description = models.CharField(_("用途"), max_length=200)
    scopes = models.JSONField(_("权限范围"), default=list)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("创建人")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("停用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("服务账号")
        verbose_name_plural = _("服务账号")

    def __str__(self) -> str:
        return self.user.username

    def scope_labels(self) -> list[str]:
        return [str(ServiceScope(code).label) for code in self.scopes if code in ServiceScope]


class ApiTokenManager(AuthTokenManager):
    def get_queryset(self):
        # Authentication reads the token, its user, the user's region and service account in one
        # query (knox adds select_related("user") to this).
        return super().get_queryset().select_related("user__region", "user__service_account")


class ApiToken(AbstractAuthToken):
    """An API token (knox's, stored as its SHA-512 digest; the secret is shown once).

    Issued to a service account or to a person for their own scripts; it always expires, is
    refused at once when revoked, and is kept afterwards so that the history rows written with it
    (``pgh_context.metadata["token"]`` = ``token_key``) still name it.
    """

    expiry = models.DateTimeField(_("到期时间"))
    name = models.CharField(_("用途"), max_length=100)
    issued_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("签发人")
    )
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("吊销人"),
    )  # fmt: skip

    objects = ApiTokenManager()

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    def __str__(self) -> str:
        return f"{self.token_key}… ({self.name})"

    def is_usable(self, now) -> bool:
        return self.revoked_at is None and self.expiry > now


@pghistory.track()
class Household(models.Model):
    """A household (户) registered in a village, paid into its bank account."""

    class HukouType(models.TextChoices):
        URBAN = "urban", _("城镇")
        RURAL = "rural", _("农村")

    # The region code a record of this model is scoped by (core.admin.ScopedAdminMixin).
    scope_field = "region_code"

    class Status(models.TextChoices):
        ACTIVE = "active", _("在册")
        CLOSED = "closed", _("已注销")

    village = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="households",
        limit_choices_to={"level": Region.Level.VILLAGE},
        verbose_name=_("村/社区"),
    )
    # The village code, kept beside the foreign key so region scoping and batch reads are one
    # indexed prefix match with no join.
    region_code = models.CharField(_("区划代码"), max_length=12, db_index=True, editable=False)
    address = LineField(_("地址"), max_length=200)
    hukou_type = models.CharField(_("户籍类型"), max_length=10, choices=HukouType.choices)
    head = models.ForeignKey(
        "Member",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("户主"),
    )
    bank_name = LineField(_("开户银行"), max_length=100, blank=True)
    bank_account_holder = LineField(_("账户户名"), max_length=50, blank=True)
    bank_account_number = models.CharField(_("银行账号"), max_length=30, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("家庭")
        verbose_name_plural = _("家庭")
        ordering = ["id"]
        indexes = [
            # The household search checks each household a name found is in the user's subtree
            # by this index alone (an index-only scan), without reading the household's row.
            models.Index(fields=["id"], name="household_id_region", include=["region_code"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.address}"

    def save(self, *args, **kwargs):
        # Derived, never entered: keeps the denormalised scope key in step with the village.
        self.region_code = Region.objects.values_list("code", flat=True).get(pk=self.village_id)
        super().save(*args, **kwargs)


@pghistory.track()
class Member(models.Model):
    """A person's membership of a household. One person (ID number) is active in one household."""

    # The region code a record of this model is scoped by (core.admin.ScopedAdminMixin).
    scope_field = "household__region_code"

    class Sex(models.TextChoices):
        MALE = "M", _("男")
        FEMALE = "F", _("女")

    class Relation(models.TextChoices):
        HEAD = "head", _("户主")
        SPOUSE = "spouse", _("配偶")
        CHILD = "child", _("子女")
        PARENT = "parent", _("父母")
        GRANDCHILD = "grandchild", _("孙子女")
        GRANDPARENT = "grandparent", _("祖父母")
        SIBLING = "sibling", _("兄弟姐妹")
        OTHER = "other", _("其他")

    class DisabilityCategory(models.TextChoices):
        NONE = "", _("无")
        VISUAL = "visual", _("视力")
        HEARING = "hearing", _("听力")
        SPEECH = "speech", _("言语")
        PHYSICAL = "physical", _("肢体")
        INTELLECTUAL = "intellectual", _("智力")
        MENTAL = "mental", _("精神")
        MULTIPLE = "multiple", _("多重")

    class WorkAbility(models.TextChoices):
        FULL = "full", _("有劳动能力")
        PARTIAL = "partial", _("部分丧失劳动能力")
        NONE = "none", _("无劳动能力")

    class Schooling(models.TextChoices):
        NONE = "none", _("未上学")
        PRESCHOOL = "preschool", _("学前")
        PRIMARY = "primary", _("小学")
        JUNIOR = "junior", _("初中")
        SENIOR = "senior", _("高中/中职")
        COLLEGE = "college", _("大专及以上")
        LEFT = "left", _("已离校")

    class Employment(models.TextChoices):
        EMPLOYED = "employed", _("就业")
        FLEXIBLE = "flexible", _("灵活就业")
        FARMING = "farming", _("务农")
        UNEMPLOYED = "unemployed", _("失业")
        RETIRED = "retired", _("退休")
        STUDENT = "student", _("在校")
        NOT_APPLICABLE = "na", _("不适用")

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="members", verbose_name=_("家庭")
    )
    name = LineField(_("姓名"), max_length=50)
    id_number = models.CharField(_("身份证号"), max_length=18)
    birth_date = models.DateField(
        _("出生日期"), editable=False, validators=[not_before(EARLIEST_BIRTH), NotAfterToday()]
    )
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices, editable=False)
    relation = models.CharField(_("与户主关系"), max_length=12, choices=Relation.choices)
    disability_category = models.CharField(
        _("残疾类别"), max_length=12, choices=DisabilityCategory.choices, blank=True, default=""
    )
    disability_grade = models.PositiveSmallIntegerField(
        _("残疾等级"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
    )
    serious_illness = models.BooleanField(_("重病"), default=False)
    work_ability = models.CharField(
        _("劳动能力"), max_length=10, choices=WorkAbility.choices, default=WorkAbility.FULL
    )
    schooling = models.CharField(
        _("就学"), max_length=10, choices=Schooling.choices, default=Schooling.NONE
    )
    employment = models.CharField(
        _("就业"), max_length=12, choices=Employment.choices, default=Employment.NOT_APPLICABLE
    )
    is_alive = models.BooleanField(_("在世"), default=True)
    death_date = models.DateField(
        _("死亡日期"),
        null=True,
        blank=True,
        validators=[not_before(EARLIEST_BIRTH), NotAfterToday()],
    )
    # False once the person has moved out (see MemberMove) or the household is closed.
    is_active = models.BooleanField(_("有效成员"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("家庭成员")
        verbose_name_plural = _("家庭成员")
        ordering = ["id"]
        indexes = [
            # Looking a person up across all their memberships (moves, history) by ID number;
            # the partial unique index only covers active ones.
            models.Index(fields=["id_number"], name="member_id_number"),
            # The household search finds an active member's name by its start (name LIKE
            # '王建%'); the household id is in the index, so the search reads no member row.
            models.Index(
                fields=["name"],
                name="member_active_name",
                opclasses=["varchar_pattern_ops"],
                include=["household"],
                condition=Q(is_active=True),
            ),
            # Deaths recorded since a month was approved (the back-pay step's late records):
            # only the dead are in it.
            models.Index(
                fields=["updated_at"], name="member_death_recorded", condition=Q(is_alive=False)
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["id_number"],
                condition=Q(is_active=True),
                name="one_active_household_per_person",
            ),
            models.CheckConstraint(
                condition=Q(disability_grade__isnull=True)
                | Q(disability_grade__gte=1, disability_grade__lte=4),
                name="disability_grade_1_to_4",
            ),
            models.CheckConstraint(
                condition=Q(is_alive=True) | Q(death_date__isnull=False),
                name="dead_member_has_death_date",
            ),
            models.CheckConstraint(
                condition=Q(death_date__isnull=True) | Q(death_date__gte=models.F("birth_date")),
                name="death_not_before_birth",
            ),
        ]

    def __str__(self) -> str:
        return self.name


# The first month a member's facts can be dated from: the facts a member had before any change
# was recorded hold from here on (MemberCondition).
FACTS_SINCE = datetime.date(1900, 1, 1)


@pghistory.track()
class MemberCondition(models.Model):
    """A member's health facts from a month on (成员状况): serious illness, disability grade and
    category, and self-care ability (the care level of 特困 support), as a caseworker event set
    them (a review, a new certificate, a correction) with the month they take effect.

    The facts in force in month M are the member's row with the latest ``effective_month`` on or
    before M. A member with no row has the facts on the Member row in every month; the first
    change recorded also keeps the facts before it, from ``FACTS_SINCE``. ``care_level`` "" means
    the level assessed on the enrolment. The Member row shows the facts in force now.
    """

    class CareLevel(models.TextChoices):
        # The values of casework.models.CareLevel (the engine reads one or the other).
        SELF_CARE = "self_care", _("生活自理")
        PARTIAL = "partial", _("部分失能")
        FULL = "full", _("完全失能")

    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="conditions", verbose_name=_("家庭成员")
    )
    effective_month = models.DateField(_("生效月份"))
    serious_illness = models.BooleanField(_("重病"), default=False)
    disability_category = models.CharField(
        _("残疾类别"),
        max_length=12,
        choices=Member.DisabilityCategory.choices,
        blank=True,
        default="",
    )
    disability_grade = models.PositiveSmallIntegerField(
        _("残疾等级"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
    )
    care_level = models.CharField(
        _("护理等级"), max_length=10, choices=CareLevel.choices, blank=True, default=""
    )
    reason = LineField(_("依据"), max_length=200)
    recorded_by = models.ForeignKey(
        "User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("成员状况")
        verbose_name_plural = _("成员状况")
        ordering = ["member_id", "effective_month"]
        # What was recorded since a month was approved (the back-pay step's late records).
        indexes = [models.Index(fields=["created_at"], name="condition_created_at")]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "effective_month"], name="one_condition_per_member_month"
            ),
            models.CheckConstraint(
                condition=Q(disability_grade__isnull=True)
                | Q(disability_grade__gte=1, disability_grade__lte=4),
                name="condition_disability_grade_1_to_4",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} {self.effective_month:%Y-%m}"


class IncomeType(models.TextChoices):
    """Income types of DOMAIN.md; COUNTED_INCOME lists the ones the means test counts."""

    WAGES = "wages", _("工资性收入")
    BUSINESS = "business", _("经营性收入")
    PENSION = "pension", _("养老金")
    RENT = "rent", _("财产租金")
    SUPPORT = "support", _("赡养/抚养/扶养费")
    OTHER_COUNTED = "other_counted", _("其他计入收入")
    EXEMPT_PENSION = "exempt_pension", _("豁免的养老金")
    SPECIAL_CARE = "special_care", _("优抚待遇")
    FAMILY_PLANNING = "family_planning", _("计划生育奖励")
    SCHOLARSHIP = "scholarship", _("奖学金/助学金")
    BRAVERY = "bravery", _("见义勇为奖励")
    OTHER_ASSISTANCE = "other_assistance", _("其他救助金")
    DISABILITY_SUBSIDY = "disability_subsidy", _("残疾人两项补贴")
    MEDICAL_DEDUCTION = "medical_deduction", _("必要医疗/护理/康复支出(扣减)")


COUNTED_INCOME = frozenset(
    {
        IncomeType.WAGES,
        IncomeType.BUSINESS,
        IncomeType.PENSION,
        IncomeType.RENT,
        IncomeType.SUPPORT,
        IncomeType.OTHER_COUNTED,
    }
)
# Necessary medical, nursing and rehabilitation costs of a disabled or seriously ill member.
DEDUCTED_COSTS = frozenset({IncomeType.MEDICAL_DEDUCTION})


@pghistory.track()
class IncomeItem(models.Model):
    """One income (or deductible cost) of a member: monthly amount over a period of validity."""

    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="incomes", verbose_name=_("成员")
    )
    type = models.CharField(_("收入类型"), max_length=20, choices=IncomeType.choices)
    monthly_amount = MoneyField(_("月收入"), ceiling=INCOME_CEILING)
    valid_from = models.DateField(
        _("起始日期"), validators=[not_before(EARLIEST_RECORD), NotAfterToday(days=366)]
    )
    valid_to = models.DateField(
        _("截止日期"), null=True, blank=True, validators=[not_before(EARLIEST_RECORD)]
    )
    note = LineField(_("备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("收入")
        verbose_name_plural = _("收入")
        ordering = ["id"]
        # What was recorded since a month was approved (the back-pay step's late records).
        indexes = [models.Index(fields=["created_at"], name="income_created_at")]
        constraints = [
            models.CheckConstraint(
                condition=Q(monthly_amount__gte=Decimal("0")), name="income_not_negative"
            ),
            money_check("monthly_amount", INCOME_CEILING, name="income_within_ceiling"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="income_period_ordered",
            ),
        ]

    @property
    def is_counted(self) -> bool:
        return self.type in COUNTED_INCOME


@pghistory.track()
class Asset(models.Model):
    """A household asset declared or found in the economic check."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", _("存款")
        SECURITIES = "securities", _("有价证券")
        VEHICLE = "vehicle", _("机动车")
        HOUSE = "house", _("房产")
        BUSINESS = "business", _("经营性资产")
        OTHER = "other", _("其他")

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="assets", verbose_name=_("家庭")
    )
    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices)
    description = LineField(_("说明"), max_length=200, blank=True)
    value = MoneyField(_("价值"), ceiling=ASSET_CEILING)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("资产")
        verbose_name_plural = _("资产")
        ordering = ["id"]
        constraints = [money_check("value", ASSET_CEILING, name="asset_value_within_bounds")]


class MemberMove(models.Model):
    """The recorded move of a person from one household to another (append-only)."""

    from_member = models.OneToOneField(
        Member, on_delete=models.PROTECT, related_name="moved_out", verbose_name=_("原成员记录")
    )
    to_member = models.OneToOneField(
        Member, on_delete=models.PROTECT, related_name="moved_in", verbose_name=_("新成员记录")
    )
    moved_on = models.DateField(
        _("迁移日期"), validators=[not_before(EARLIEST_RECORD), NotAfterToday()]
    )
    reason = LineField(_("原因"), max_length=200)
    moved_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("成员迁移")
        verbose_name_plural = _("成员迁移")
        ordering = ["id"]


class ReadEntry(models.Model):
    """One read of people's personal data (查阅记录): who read what, when, from where, and with
    which API token when the call carried one (the user is then the token's owner: a service
    account or the person whose script it is).

    Written by ``beneficiaries.readlog.log_read`` from the API views and pages that show personal
    data; append-only (the database refuses UPDATE and DELETE). A list or an export is one entry
    with its filter and the number of rows it returned; a read of one household's data names the
    household. ``region_code`` is the household's, or for a list the reader's region: auditors
    see the entries of their subtree.
    """

    scope_field = "region_code"

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("查阅人")
    )
    what = models.CharField(_("查阅内容"), max_length=60)
    household = models.ForeignKey(
        Household,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("家庭"),
    )
    region_code = models.CharField(_("区划代码"), max_length=12, blank=True, db_index=True)
    rows = models.PositiveIntegerField(_("行数"), default=1)
    query = models.CharField(_("筛选条件"), max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    path = models.CharField(_("访问路径"), max_length=300)
    # The API token the read was made with (a service account's or a person's script), if any.
    token = models.ForeignKey(
        ApiToken,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("令牌"),
    )

    class Meta:
        verbose_name = _("查阅记录")
        verbose_name_plural = _("查阅记录")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["household", "at"], name="read_entry_household_at"),
            models.Index(fields=["user", "at"], name="read_entry_user_at"),
        ]
        triggers = [
            pgtrigger.Protect(
                name="read_entry_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            )
        ]


class SignInUnlock(models.Model):
    """An administrator lifted a sign-in lockout (``beneficiaries.signin.unlock``); append-only."""

    username = models.CharField(_("用户名"), max_length=150, blank=True)
    ip_address = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("清除的失败记录"))
    unlocked_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("解锁人")
    )
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("登录解锁记录")
        verbose_name_plural = _("登录解锁记录")
        ordering = ["-id"]
        triggers = [
            pgtrigger.Protect(
                name="signin_unlock_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            )
        ]


class VerbatimJSONField(models.JSONField):
    """A JSONField stored as PostgreSQL ``json`` (the text kept as written, validated on input)
    instead of ``jsonb``: a read returns the stored text as is, where ``jsonb`` is printed back
    from its binary form on every read. For values written whole and read whole, never searched
    or compared in SQL (``json`` has no equality operator). Other databases: a JSONField.

    Values go in as ``jsonb`` parameters, cast on assignment: the stored text is ``jsonb``'s
    canonical output, whoever writes it. psycopg decodes ``json`` columns itself (Django gives
    only ``jsonb`` a text loader), so the ORM receives decoded values; raw readers select
    ``column::text`` to get the text."""

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def from_db_value(self, value, expression, connection):
        if connection.vendor == "postgresql":
            return value  # decoded by psycopg already (a JSON string arrives as a str)
        return super().from_db_value(value, expression, connection)


class HouseholdFactsPeriod(models.Model):
    """A household's facts over a run of months (家庭月度事实), as every computation of a month
    reads them: the members living in it on each month's first day, each with the facts in force
    in those months. Derived, never entered: ``beneficiaries.facts.refresh_household_facts``
    rewrites a household's rows in the transaction of every change to its facts.

    A household's rows tile the months from ``FACTS_SINCE`` on without gap or overlap: the first
    starts there, each ``valid_until`` (first day of the last month, null for the last row) is the
    month before the next row's ``valid_from``, and two neighbours always differ.

    ``members`` is one compact list per member, by member id: [id, birth date (ISO), counted
    income minus deducted costs (decimal text), serious illness, disability grade, disability
    category, care level]. The age is not stored: readers compute it for their month from the
    birth date. An empty list is a month with nobody living in the household.
    """

    # No index of its own: the unique (household, valid_from) index leads with it.
    household = models.ForeignKey(
        Household,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        verbose_name=_("家庭"),
    )
    valid_from = models.DateField(_("起始月份"))
    valid_until = models.DateField(_("截止月份"), null=True, blank=True)
    # Stored as json, not jsonb: the batch reads every household's row each month, and jsonb's
    # conversion back to text was most of that read's cost in PostgreSQL.
    members = VerbatimJSONField(_("成员事实"), default=list)

    class Meta:
        verbose_name = _("家庭月度事实")
        verbose_name_plural = _("家庭月度事实")
        ordering = ["household_id", "valid_from"]
        constraints = [
            # Its index serves the batch's read: per household, the row whose months hold M.
            models.UniqueConstraint(
                fields=["household", "valid_from"], name="one_facts_period_per_start"
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="facts_period_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.household_id} {self.valid_from:%Y-%m}–{self.valid_until or ''}"
