"""The one access rule: which roles read and which write each resource, always inside the user's
region subtree.

Every API view names its ``resource`` and :class:`core.permissions.PolicyPermission` applies this
table; every admin page (:class:`core.admin.PolicyAdminMixin`) and every web page
(``core.pages.page``) asks the same :func:`refusal`. Region scope is the other half of the rule:
records are read through :func:`core.scope.scope`, so one outside the subtree is a 404.

* A user without a region is refused everywhere (403, "ask an administrator"): a missing region
  never means "everywhere". An administrator's reach is the role ``admin`` and a region, e.g.
  the province 320000000000.
* The superuser flag grants nothing here: what a user may do comes from the role alone.
* A resource's ``actions`` name the roles of one action (a viewset action or an API view's
  ``policy_action``) when they differ from its ``read`` (safe methods) or ``write`` roles.
* The state machines still refuse a move the record's state or tier does not allow (a 409 with
  the reason); this table says who may use a resource at all.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from core.roles import Role

NOBODY: frozenset[str] = frozenset()
EVERY_ROLE = frozenset(Role)
CASEWORKER = frozenset({Role.CASEWORKER})
ADMIN = frozenset({Role.ADMIN})
# Caseworkers and administrators read and write the registry; approvers, finance and auditors
# read it (approvals and bank files need it); grid workers never see it.
REGISTRY_READERS = frozenset(
    {Role.CASEWORKER, Role.COUNTY_APPROVER, Role.FINANCE, Role.AUDITOR, Role.ADMIN}
)
REGISTRY_WRITERS = frozenset({Role.CASEWORKER, Role.ADMIN})
DECIDERS = frozenset({Role.CASEWORKER, Role.COUNTY_APPROVER})
AUDIT_READERS = frozenset({Role.CASEWORKER, Role.COUNTY_APPROVER, Role.AUDITOR, Role.ADMIN})
FINANCE = frozenset({Role.FINANCE, Role.ADMIN})
# The two signatures on money the payroll pays or offsets (preparing and approving a batch,
# approving a recovery recorded by hand) are finance users' own, never an administrator's.
FINANCE_SIGNERS = frozenset({Role.FINANCE})
MONEY_READERS = frozenset({Role.FINANCE, Role.AUDITOR, Role.ADMIN})


@dataclass(frozen=True)
class Rule:
    read: frozenset[str]
    write: frozenset[str] = NOBODY
    actions: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def roles(self, *, action: str | None, safe: bool) -> frozenset[str]:
        if action in self.actions:
            return self.actions[action]
        return self.read if safe else self.write


POLICY: dict[str, Rule] = {
    # Registry (beneficiaries). Regions are reference data every role needs to name places.
    "region": Rule(read=EVERY_ROLE),
    "household": Rule(read=REGISTRY_READERS, write=REGISTRY_WRITERS),
    "member": Rule(read=REGISTRY_READERS, write=REGISTRY_WRITERS),
    "income": Rule(read=REGISTRY_READERS, write=REGISTRY_WRITERS),
    "asset": Rule(read=REGISTRY_READERS, write=REGISTRY_WRITERS),
    "member-move": Rule(read=REGISTRY_READERS, write=REGISTRY_WRITERS),
    "user": Rule(read=ADMIN, write=ADMIN),
    # Lifted sign-in lockouts (user names and addresses, no region): administrators read them.
    "sign-in-unlock": Rule(read=ADMIN),
    # Rules: policy values are read by everyone, kept by finance and administrators.
    "standard": Rule(read=EVERY_ROLE, write=FINANCE),
    "price-index": Rule(read=EVERY_ROLE, write=FINANCE),
    "calendar-year": Rule(read=EVERY_ROLE, write=ADMIN),
    # Casework. Grid workers flag candidates and see only their own flags.
    "referral": Rule(
        read=REGISTRY_READERS | {Role.GRID_WORKER},
        write=CASEWORKER | {Role.GRID_WORKER},
        actions={"convert": CASEWORKER, "reject": CASEWORKER},
    ),
    "application": Rule(read=REGISTRY_READERS, write=DECIDERS),
    "objection": Rule(read=REGISTRY_READERS, write=CASEWORKER),
    "enrolment": Rule(read=REGISTRY_READERS, write=CASEWORKER),
    # A proposed change that moves money, decided by a second person (the state machine says who).
    "change-request": Rule(read=REGISTRY_READERS, write=DECIDERS),
    # An explanation names the members and their incomes: registry readers only.
    "enrolment-explanation": Rule(read=REGISTRY_READERS),
    "death": Rule(read=NOBODY, write=CASEWORKER),
    "member-condition": Rule(read=NOBODY, write=CASEWORKER),
    "relief": Rule(read=REGISTRY_READERS, write=DECIDERS),
    "adjustment": Rule(read=AUDIT_READERS),
    "timeline": Rule(read=AUDIT_READERS),
    "history": Rule(read=frozenset({Role.AUDITOR, Role.ADMIN})),
    # Who read whom: the auditors' list of reads of personal data.
    "read-log": Rule(read=frozenset({Role.AUDITOR})),
    # Payments. Review and diff show every line's household and amount: finance and audit.
    "batch": Rule(
        read=REGISTRY_READERS,
        write=FINANCE,
        actions={
            "review": MONEY_READERS,
            "diff": MONEY_READERS,
            "submit": FINANCE_SIGNERS,
            "approve": FINANCE_SIGNERS,
        },
    ),
    "payment-line": Rule(read=REGISTRY_READERS),
    "bank-file": Rule(read=FINANCE, write=FINANCE),
    # Recoveries carry the notes of hidden income found by audit.
    "recovery": Rule(read=MONEY_READERS, write=FINANCE, actions={"approve": FINANCE_SIGNERS}),
    # Pages and the admin site.
    "home": Rule(read=EVERY_ROLE),
    "admin-site": Rule(read=ADMIN, write=ADMIN),
}

NO_REGION = _("您的账号尚未分配管辖地区，暂不能使用系统。请联系管理员为您分配地区。")
WRONG_ROLE = _("您的角色不能执行此操作。")


def rule(resource: str) -> Rule:
    """The rule of ``resource``; a name the table does not hold is a programming error."""
    try:
        return POLICY[resource]
    except KeyError:
        raise LookupError(f"no access rule for resource {resource!r} in core.policy") from None


def roles_for(resource: str, *, action: str | None = None, safe: bool = True) -> frozenset[str]:
    return rule(resource).roles(action=action, safe=safe)


def refusal_for_roles(user, roles: Iterable[str], *, message=WRONG_ROLE) -> str | None:
    """Why ``user`` may not do what ``roles`` may, or None when they may.

    An anonymous or inactive user is refused without a message (the caller asks them to sign
    in); a user without a region is told to ask an administrator for one.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return ""
    if user.region_id is None:
        return str(NO_REGION)
    if user.role not in roles:
        return str(message)
    return None


def refusal(user, resource: str, *, action: str | None = None, safe: bool = True) -> str | None:
    """Why ``user`` may not use ``resource`` this way (None: allowed). See the module docstring."""
    return refusal_for_roles(user, roles_for(resource, action=action, safe=safe))


def allows(user, resource: str, *, action: str | None = None, safe: bool = True) -> bool:
    return refusal(user, resource, action=action, safe=safe) is None
