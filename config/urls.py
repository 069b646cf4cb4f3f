from django.contrib import admin
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

    Open to anyone, like the schema and the docs: it names routes and holds no data; each route
    applies its own access rule.
    """

    permission_classes = [AllowAny]
    api_root_dict = {
        prefix: f"{basename}-list"
        for router in ROUTERS
        for prefix, _viewset, basename in router.registry
    }


# The docs pages load nothing from outside the server (Redoc's footer would fetch its logo from
# a CDN); the styles Swagger UI and Redoc write inline and Redoc's search worker are allowed.
DOCS_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "worker-src 'self' blob:"
)


class LocalOnly:
    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_POLICY
        return response


class SwaggerView(LocalOnly, SpectacularSwaggerSplitView):
    pass


class RedocView(LocalOnly, SpectacularRedocView):
    template_name = "api/redoc.html"


urlpatterns = [
    path("", include("web.urls")),
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
