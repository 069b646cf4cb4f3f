"""The API's router: every detail route takes a numeric id.

DRF's default lookup pattern (``[^/.]+``) let ``/api/batches/abc/recompute/`` reach the view,
where ``get_object_or_404(pk="abc")`` raised a ValueError: a 500. With the id pattern a malformed
id is a 404 from the URL resolver, and the schema says the id is an integer.
"""

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
    from django.http import JsonResponse
    from django.views.defaults import page_not_found
    from rest_framework.exceptions import NotFound

    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": str(NotFound.default_detail), "code": NotFound.default_code}, status=404
        )
    return page_not_found(request, exception)
