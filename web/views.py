"""The shell's pages: sign-in, sign-out and each role's home worklist."""

from django.contrib import messages
from django.contrib.auth import views as auth
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from beneficiaries.readlog import log_read
from core.pages import page
from core.permissions import EVERY_ROLE
from web.forms import SignInForm
from web.worklists import worklist_for


class SignInView(auth.LoginView):
    """The sign-in page at ``/``; a signed-in user goes straight to the home worklist."""

    template_name = "web/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


class SignOutView(auth.LogoutView):
    """Sign out (POST only, so a link or an image cannot sign anyone out)."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, _("您已安全退出。"))
        return response


@page(roles=EVERY_ROLE)
def home(request):
    worklist = worklist_for(user=request.user)
    if worklist.reads:
        log_read(request=request, what=worklist.reads, rows=len(worklist.table.rows), query="")
    return render(request, "web/home.html", {"worklist": worklist})
