"""The township caseworker's registry pages: find a household, register one with its members,
and the household's page (一户一档).

They live in ``web`` (the top layer) because the household page shows casework and payments
beside the registry; the forms are the registry's (``beneficiaries.forms``) and every write is
one call of ``beneficiaries.services``.

A search never puts what was typed into a URL (a resident ID would end up in access logs): the
search box is POSTed, the text kept in the session under a random token, and the results page's
URL carries only that token and the keyset cursor.
"""

import secrets

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from beneficiaries import services
from beneficiaries.forms import Registration, SearchForm, id_number_message
from beneficiaries.models import Household
from beneficiaries.readlog import log_read
from beneficiaries.selectors import search_households
from core.exceptions import DomainError
from core.pages import page
from core.permissions import REGISTRY_READERS, REGISTRY_WRITERS, visible_id_number
from core.scope import scope
from web.access import may_open
from web.components import Column, Pager, Table
from web.household import household_file, household_history

SEARCHES = "household_searches"
KEPT_SEARCHES = 20
PAGE_SIZE = 20


def _keep_search(request, query: str) -> str:
    """Keep the search text in the session; return the token that names it."""
    searches = request.session.get(SEARCHES, {})
    token = secrets.token_urlsafe(9)
    searches[token] = query
    request.session[SEARCHES] = dict(list(searches.items())[-KEPT_SEARCHES:])
    return token


def _cursor(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def results_table(*, user, households) -> Table:
    def head_id(household):
        head = household.head
        return visible_id_number(user, head.id_number) if head is not None else ""

    def link(household):
        return reverse("web:household", args=[household.pk])

    return Table(
        columns=[
            Column(_("户号"), "pk", link=link),
            Column(_("户主"), "head.name", link=link),
            Column(_("户主身份证号"), head_id, wide_only=True),
            Column(_("村/社区"), "village.name"),
            Column(_("地址"), "address", wide_only=True),
            Column(_("状态"), "status", kind="badge", badge_label="get_status_display"),
        ],
        rows=households,
        empty=_("没有找到符合条件的家庭"),
    )


def _results(request, *, token: str, query: str) -> dict:
    result = search_households(
        user=request.user,
        query=query,
        after=_cursor(request.GET.get("after")),
        before=_cursor(request.GET.get("before")),
        size=PAGE_SIZE,
    )
    # One entry per page of results: what kind of search and how many households it showed (the
    # searched text stays out of the log, as out of the URL: it may be a resident ID).
    log_read(
        request=request,
        what="household.search",
        rows=len(result.households),
        query=f"kind={result.kind}",
    )
    base = reverse("web:household_search")
    pager = Pager(
        previous_url=f"{base}?s={token}&before={result.before}" if result.before else "",
        next_url=f"{base}?s={token}&after={result.after}" if result.after else "",
    )
    return {
        "table": results_table(user=request.user, households=result.households),
        "pager": pager,
        "searched": True,
    }


@page(roles=REGISTRY_READERS)
def household_search(request):
    """Find a household by name, resident ID, address or household number."""
    context = {"searched": False}
    if request.method == "POST":
        form = SearchForm(request.POST)
        if form.is_valid():
            query = form.cleaned_data["q"]
            token = _keep_search(request, query)
            url = f"{reverse('web:household_search')}?s={token}"
            if request.htmx:
                response = render(
                    request,
                    "beneficiaries/search_results.html",
                    _results(request, token=token, query=query),
                )
                response["HX-Replace-Url"] = url  # a reload shows the same results
                return response
            return redirect(url)
        if request.htmx:
            return render(request, "beneficiaries/search_results.html", {"searched": False})
    else:
        token = request.GET.get("s", "")
        query = request.session.get(SEARCHES, {}).get(token) if token else None
        # The box is shown filled in (in the page, not in the URL).
        form = SearchForm(initial={"q": query or ""})
        if query:
            context.update(_results(request, token=token, query=query))
    context["form"] = form
    context["can_register"] = may_open(request.user, "web:household_register")
    return render(request, "beneficiaries/search.html", context)


@page(roles=REGISTRY_WRITERS)
def household_register(request):
    """Register a household with its members, their income and its assets in one form."""
    if request.method != "POST":
        return render(
            request,
            "beneficiaries/register.html",
            {"registration": Registration(user=request.user)},
        )
    action = request.POST.get("action", "save")
    if action != "save":
        registration = Registration.reshaped(request.POST, user=request.user, action=action)
        template = "beneficiaries/register_form.html" if request.htmx else None
        return render(
            request,
            template or "beneficiaries/register.html",
            {"registration": registration},
        )
    registration = Registration(request.POST, user=request.user)
    if registration.is_valid():
        try:
            household = services.register_household_with_members(
                by=request.user, **registration.entries()
            )
        except DomainError as error:
            registration.show_error(error)
        else:
            messages.success(
                request,
                _("已登记家庭 %(number)s（%(count)s人）。")
                % {"number": household.pk, "count": len(registration.members.forms)},
            )
            return redirect("web:household", pk=household.pk)
    return render(
        request, "beneficiaries/register.html", {"registration": registration}, status=400
    )


@page(roles=REGISTRY_WRITERS)
@require_POST
def id_number_check(request):
    """The message beside a resident ID as it is typed (htmx): what is wrong, or what it reads."""
    value = next((value for key, value in request.POST.items() if key.endswith("id_number")), "")
    tone, message = id_number_message(value[:40], user=request.user)
    return render(request, "beneficiaries/id_check.html", {"tone": tone, "message": message})


def _household_or_404(request, pk: int) -> Household:
    return get_object_or_404(
        scope(Household.objects.select_related("village", "head"), user=request.user), pk=pk
    )


@page(roles=REGISTRY_READERS)
def household(request, pk: int):
    """The household's file (一户一档); one outside the user's subtree is a 404. Its history
    comes in a second request (``household_changes``), fetched by htmx as the page loads."""
    found = _household_or_404(request, pk)
    log_read(request=request, what="household.page", household=found, query="")
    return render(request, "web/household.html", household_file(household=found, user=request.user))


@page(roles=REGISTRY_READERS)
def household_changes(request, pk: int):
    """The household's history of changes: the fragment for htmx, or a page of its own."""
    found = _household_or_404(request, pk)
    log_read(request=request, what="household.history", household=found, query="")
    context = {"household": found, "timeline": household_history(household=found)}
    if request.htmx:
        return render(request, "web/household_history.html", context)
    return render(request, "web/household_history_page.html", context)
