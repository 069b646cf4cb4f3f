"""The application state machine: ONE table of allowed moves, and who may make each.

Steps (DOMAIN.md: workflow and review): submitted → home visit → economic check → township
review → public notice → approval → approved or refused; the township may also refuse at its
review, and a case may be withdrawn from any open step.
``casework.services.applications.move_application`` is the one function that moves a case; it
writes one ``CaseStep`` per move.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from beneficiaries.models import User

from .models import CLOSED_STATES, Application, CaseState

CASEWORKER = User.Role.CASEWORKER
COUNTY_APPROVER = User.Role.COUNTY_APPROVER
# Stands for the county approver, or also the township caseworker where the county has
# delegated approval (parameter ``casework.township_approves``).
APPROVER = "approver"


@dataclass(frozen=True)
class Move:
    source: str
    target: str
    roles: frozenset[str]


def _move(source: str, target: str, *roles: str) -> Move:
    return Move(source, target, frozenset(roles))


OPEN_STATES = tuple(state for state in CaseState.values if state not in CLOSED_STATES)

MOVES: tuple[Move, ...] = (
    _move(CaseState.SUBMITTED, CaseState.HOME_VISIT, CASEWORKER),
    _move(CaseState.HOME_VISIT, CaseState.ECONOMIC_CHECK, CASEWORKER),
    _move(CaseState.ECONOMIC_CHECK, CaseState.TOWNSHIP_REVIEW, CASEWORKER),
    _move(CaseState.TOWNSHIP_REVIEW, CaseState.PUBLIC_NOTICE, CASEWORKER),
    _move(CaseState.TOWNSHIP_REVIEW, CaseState.REFUSED, CASEWORKER),
    _move(CaseState.PUBLIC_NOTICE, CaseState.APPROVAL, CASEWORKER),
    _move(CaseState.APPROVAL, CaseState.APPROVED, APPROVER),
    _move(CaseState.APPROVAL, CaseState.REFUSED, APPROVER),
    *(_move(state, CaseState.WITHDRAWN, CASEWORKER) for state in OPEN_STATES),
)

_BY_PAIR = {(move.source, move.target): move for move in MOVES}


def find_move(source: str, target: str) -> Move | None:
    return _BY_PAIR.get((source, target))


def moves_from(source: str) -> list[Move]:
    return [move for move in MOVES if move.source == source]


def roles_for(move: Move, *, delegated: bool) -> frozenset[str]:
    if APPROVER not in move.roles:
        return move.roles
    return frozenset({COUNTY_APPROVER, CASEWORKER} if delegated else {COUNTY_APPROVER})


def _label(state: str) -> str:
    return str(CaseState(state).label)


# The list separator of the language in use.
SEPARATOR = _("、")


def _role_labels(roles: frozenset[str]) -> str:
    return str(SEPARATOR).join(sorted(str(User.Role(role).label) for role in roles))


def refusal_reason(
    *, application: Application, target: str, user: User, delegated: bool
) -> str | None:
    """Why ``user`` may not move the case to ``target``, or None when the table allows it."""
    if target not in CaseState.values:
        return str(_("未知的状态:%(target)s")) % {"target": target}
    move = find_move(application.state, target)
    if move is None:
        allowed = str(SEPARATOR).join(_label(m.target) for m in moves_from(application.state))
        return str(_("案件处于「%(state)s」,不能转到「%(target)s」;可转到:%(allowed)s。")) % {
            "state": _label(application.state),
            "target": _label(target),
            "allowed": allowed or str(_("无(已办结)")),
        }
    roles = roles_for(move, delegated=delegated)
    if user.role not in roles:
        return str(_("「%(state)s」转到「%(target)s」只能由%(roles)s办理。")) % {
            "state": _label(application.state),
            "target": _label(target),
            "roles": _role_labels(roles),
        }
    return None
