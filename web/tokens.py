"""我的接口令牌: a person issues and revokes API tokens for their own scripts.

The same service as the administrators' admin and ``manage.py service_accounts``
(``beneficiaries.service_accounts``): a token acts with its owner's role and region, always
expires (within ``API_TOKEN_MAX_DAYS``), and its secret is shown once, on the page that answers
the issue, never again. Service accounts have no pages (``core.pages.page`` refuses them).
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import ApiToken
from beneficiaries.service_accounts import issue_token, revoke_token
from core.exceptions import DomainError
from core.pages import page
from core.permissions import EVERY_ROLE


class IssueForm(forms.Form):
    name = forms.CharField(label=_("用途"), max_length=100, help_text=_("例如：月报统计脚本"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        most = settings.API_TOKEN_MAX_DAYS
        self.fields["days"] = forms.IntegerField(
            label=_("有效期（天）"),
            min_value=1,
            max_value=most,
            initial=settings.REST_KNOX["TOKEN_TTL"].days,
            help_text=_("1 至 %(max)s 天，到期后令牌自动失效。") % {"max": most},
        )


@page(roles=EVERY_ROLE)
def my_tokens(request):
    """The user's tokens (newest first, with their last use); issue one; revoke one at once."""
    form = IssueForm()
    secret = None
    status = 200
    if request.method == "POST" and "revoke" in request.POST:
        # knox keys a token by its digest (which reveals nothing of the secret).
        token = get_object_or_404(ApiToken, pk=request.POST["revoke"], user=request.user)
        revoke_token(token=token, by=request.user)
        messages.success(request, _("令牌 %(key)s… 已吊销，立即失效。") % {"key": token.token_key})
        return redirect("web:my_tokens")
    if request.method == "POST":
        form = IssueForm(request.POST)
        if form.is_valid():
            try:
                _token, secret = issue_token(
                    user=request.user,
                    name=form.cleaned_data["name"],
                    days=form.cleaned_data["days"],
                    by=request.user,
                )
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
                status = error.status_code
            else:
                form = IssueForm()
        else:
            status = 400
    now = timezone.now()
    tokens = list(ApiToken.objects.filter(user=request.user).order_by("-created"))
    for token in tokens:
        token.state = (
            "revoked" if token.revoked_at else ("usable" if token.is_usable(now) else "expired")
        )
    return render(
        request,
        "web/my_tokens.html",
        {"form": form, "secret": secret, "tokens": tokens},
        status=status,
    )
