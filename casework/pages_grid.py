"""The grid worker's pages (网格员, on a phone): flag a candidate, my flags, one flag's story.

Thin views: a Django form parses, ``services.referrals.flag_candidate`` (the API's service)
acts, a template renders; reads go through ``casework.flags``, inside the user's subtree (a
flag of another grid worker, or outside the subtree, is a 404).

A flag survives a network that drops mid-upload: the form carries an idempotency key made when
it is shown. Sent again (the phone retries, the worker taps 提交 once more), the same key finds
the flag already saved and says so; nothing is made twice.
"""

import mimetypes
import uuid

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import Region, User
from beneficiaries.readlog import log_read
from casework.flags import (
    FLAG_OUTCOMES,
    flag_timeline,
    flags_of,
    outcome_of,
    outcome_reason,
    with_outcome,
)
from casework.models import Referral
from casework.services import referrals
from casework.services.applications import DuplicateCase
from core.exceptions import DomainError
from core.pages import page
from core.permissions import visible_id_number
from core.scope import scope

GRID_WORKERS = {User.Role.GRID_WORKER}
FLAGS_PER_PAGE = 20


class FlagForm(forms.Form):
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    name = Referral._meta.get_field("name").formfield()
    id_number = forms.CharField(
        label=_("身份证号"),
        required=False,
        max_length=40,  # spaces and full-width digits as typed; the service keeps 18
        help_text=_("选填；不知道可不填。"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    village = forms.ModelChoiceField(
        label=_("村/社区"), queryset=Region.objects.none(), empty_label=_("请选择")
    )
    address = Referral._meta.get_field("address").formfield(
        help_text=_("门牌号或能找到此人的位置。")
    )
    reason = forms.ChoiceField(label=_("原因"), choices=Referral.Reason.choices)
    note = Referral._meta.get_field("note").formfield(
        widget=forms.Textarea(attrs={"rows": 3}), help_text=_("选填。")
    )
    photo = forms.FileField(
        label=_("照片"),
        required=False,
        help_text=_("选填；可直接拍照。"),
        widget=forms.FileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        villages = scope(
            Region.objects.filter(level=Region.Level.VILLAGE).order_by("code"),
            user=user,
            field="code",
        )
        self.fields["village"].queryset = villages
        self.fields["village"].label_from_instance = lambda region: region.name
        self.fields["name"].widget.attrs["autocomplete"] = "off"
        if len(villages) == 1:
            self.fields["village"].initial = villages[0].pk


def _flag_fields(data: dict) -> dict:
    fields = {name: data[name] for name in ("name", "village", "address", "reason", "note")}
    fields["id_number"] = data["id_number"].strip()
    fields["idempotency_key"] = data["idempotency_key"]
    fields["photo"] = data["photo"]
    return fields


def _already_saved(request) -> Referral | None:
    """The flag this form made when it was sent before, whatever the rest of the form holds now
    (the phone may have kept only part of what was typed)."""
    try:
        key = uuid.UUID(request.POST.get("idempotency_key", ""))
    except ValueError:
        return None
    return flags_of(user=request.user).filter(idempotency_key=key).first()


@page(roles=GRID_WORKERS)
def flag_new(request):
    """上报线索: a short form, one tap to send."""
    if request.method != "POST":
        form = FlagForm(user=request.user, initial={"idempotency_key": uuid.uuid4()})
        response = render(request, "casework/grid/flag_form.html", {"form": form})
        # The empty form holds no personal data, and its key must survive "back" after a
        # dropped answer: not no-store (which keeps it out of the back-forward cache, so "back"
        # would fetch a new key and the resent form would not be recognised).
        response["Cache-Control"] = "private, max-age=0"
        return response
    saved = _already_saved(request)
    if saved is not None:
        messages.info(request, _("该线索已经保存，无需再次提交。"))
        return redirect("grid:flag", saved.pk)
    form = FlagForm(request.POST, request.FILES, user=request.user)
    existing = None
    if form.is_valid():
        try:
            referral = referrals.flag_candidate(by=request.user, **_flag_fields(form.cleaned_data))
        except DuplicateCase as error:
            form.add_error(None, error.message)
            mine = isinstance(error.existing, Referral)
            if mine and error.existing.flagged_by_id == request.user.pk:
                existing = error.existing
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("线索已上报，乡镇经办人将尽快处理。"))
            return redirect("grid:flag", referral.pk)
    if request.FILES.get("photo") and not form.has_error("photo"):
        form.add_error("photo", _("请重新选择照片（未保存）。"))
    return render(
        request, "casework/grid/flag_form.html", {"form": form, "existing": existing}, status=400
    )


def _pager(request, page_obj) -> dict:
    """What ``web/components/pagination.html`` shows for a Django ``Page``."""

    def url(number: int) -> str:
        query = request.GET.copy()
        query["page"] = str(number)
        return f"?{query.urlencode()}"

    return {
        "shown": page_obj.paginator.num_pages > 1,
        "previous_url": url(page_obj.previous_page_number()) if page_obj.has_previous() else "",
        "next_url": url(page_obj.next_page_number()) if page_obj.has_next() else "",
        "summary": _("第 %(number)s / %(pages)s 页，共 %(count)s 条")
        % {
            "number": page_obj.number,
            "pages": page_obj.paginator.num_pages,
            "count": page_obj.paginator.count,
        },
    }


@page(roles=GRID_WORKERS)
def flag_list(request):
    """我上报的线索: newest first, each with what became of it; ``?outcome=`` narrows them."""
    flags = flags_of(user=request.user)
    outcome = request.GET.get("outcome", "")
    if outcome in FLAG_OUTCOMES:
        flags = with_outcome(flags, outcome)
    else:
        outcome = ""
    page_obj = Paginator(flags, FLAGS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {
            "flag": flag,
            "outcome": outcome_of(flag),
            "outcome_label": FLAG_OUTCOMES[outcome_of(flag)],
            "reason": outcome_reason(flag),
        }
        for flag in page_obj
    ]
    log_read(request=request, what="referral.grid_page_list", rows=len(rows))
    filters = [("", _("全部"), not outcome)] + [
        (key, label, key == outcome) for key, label in FLAG_OUTCOMES.items()
    ]
    return render(
        request,
        "casework/grid/flag_list.html",
        {
            "rows": rows,
            "count": page_obj.paginator.count,
            "pager": _pager(request, page_obj),
            "filters": filters,
            "outcome": outcome,
        },
    )


@page(roles=GRID_WORKERS)
def flag_detail(request, pk: int):
    """One flag: what was reported, what became of it and when."""
    flag = get_object_or_404(flags_of(user=request.user), pk=pk)
    log_read(request=request, what="referral.grid_page", query="")
    return render(
        request,
        "casework/grid/flag_detail.html",
        {
            "flag": flag,
            "id_number": visible_id_number(request.user, flag.id_number) if flag.id_number else "",
            "outcome": outcome_of(flag),
            "outcome_label": FLAG_OUTCOMES[outcome_of(flag)],
            "reason": outcome_reason(flag),
            "events": flag_timeline(referral=flag),
        },
    )


@page(roles=GRID_WORKERS)
def flag_photo(request, pk: int):
    """The flag's photo, to its grid worker only (media files are not served publicly)."""
    flag = get_object_or_404(flags_of(user=request.user), pk=pk)
    if not flag.photo:
        raise Http404
    content_type = mimetypes.guess_type(flag.photo.name)[0] or "application/octet-stream"
    log_read(request=request, what="referral.grid_photo", query="")
    response = FileResponse(flag.photo.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response
