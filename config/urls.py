from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.urls import include, path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.permissions import AllowAny
from rest_framework.routers import APIRootView

from beneficiaries.api.urls import router as registry_router
from casework.api.urls import router as casework_router
from payments.api.urls import router as payments_router
from rules.api.urls import router as rules_router

ROUTERS = (registry_router, rules_router, casework_router, payments_router)


@extend_schema(exclude=True)
class APIRoot(APIRootView):
    """The API's roots: the list endpoint of every router's prefix, in every app.

    Open to anyone: it names routes and holds no data; each route applies its own access rule.
    """

    permission_classes = [AllowAny]
    api_root_dict = {
        prefix: f"{basename}-list"
        for router in ROUTERS
        for prefix, _viewset, basename in router.registry
    }


class DocsPage:
    """Swagger UI and Redoc, for signed-in users: an anonymous visitor is sent to the sign-in
    page. They load nothing from outside the server (Redoc's footer would fetch its logo from a
    CDN); on top of the app's policy (CONTENT_SECURITY_POLICY), the styles Swagger UI and Redoc
    write inline and Redoc's search worker are allowed on these two pages only."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated and "HTTP_AUTHORIZATION" not in request.META:
            return redirect_to_login(request.get_full_path())
        return super().dispatch(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response._csp_update = {"style-src": ["'unsafe-inline'"], "worker-src": ["'self'", "blob:"]}
        return response


class SwaggerView(DocsPage, SpectacularSwaggerSplitView):
    pass


class RedocView(DocsPage, SpectacularRedocView):
    template_name = "api/redoc.html"


urlpatterns = [
    path("", include("web.urls")),
    path("grid/", include("casework.urls_grid")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("casework/", include("casework.pages.urls")),
    path("admin/", admin.site.urls),
    path("api/", APIRoot.as_view(), name="api-root"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", RedocView.as_view(url_name="schema"), name="api-redoc"),
    path("api-auth/", include("rest_framework.urls")),
    path("api/", include("beneficiaries.api.urls")),
    path("api/", include("rules.api.urls")),
    path("api/", include("payments.api.urls")),
    path("api/", include("casework.api.urls")),
]

handler400 = "core.routers.bad_request"
handler404 = "core.routers.not_found"
