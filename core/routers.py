"""The API's routes: every detail route takes a numeric id, and an error Django answers before
any view (no route, a body too large) is JSON under /api/.

DRF's default lookup pattern (``[^/.]+``) let ``/api/batches/abc/recompute/`` reach the view,
where ``get_object_or_404(pk="abc")`` raised a ValueError: a 500. With the id pattern a malformed
id is a 404 from the URL resolver, and the schema says the id is an integer.
"""

from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from rest_framework.exceptions import NotFound
from rest_framework.routers import SimpleRouter

ID_PATTERN = "[0-9]+"


class Router(SimpleRouter):
    def get_lookup_regex(self, viewset, lookup_prefix=""):
        lookup_field = getattr(viewset, "lookup_field", "pk")
        lookup_url_kwarg = getattr(viewset, "lookup_url_kwarg", None) or lookup_field
        pattern = getattr(viewset, "lookup_value_regex", ID_PATTERN)
        return f"(?P<{lookup_prefix}{lookup_url_kwarg}>{pattern})"


def not_found(request, exception=None):
    """The 404 of a URL that matches no route: JSON under /api/ (as the schema documents it),
    Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": str(NotFound.default_detail), "code": NotFound.default_code}, status=404
        )
    return defaults.page_not_found(request, exception)


def bad_request(request, exception=None):
    """The 400 Django answers before any view (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, too many
    fields): JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": str(_("请求无法处理：内容过大或格式错误。")), "code": "bad_request"},
            status=400,
        )
    return defaults.bad_request(request, exception)
