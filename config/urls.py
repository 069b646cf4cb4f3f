from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("", include("web.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api-auth/", include("rest_framework.urls")),
    path("api/", include("beneficiaries.api.urls")),
    path("api/", include("rules.api.urls")),
    path("api/", include("payments.api.urls")),
    path("api/", include("casework.api.urls")),
]

handler400 = "core.routers.bad_request"
handler404 = "core.routers.not_found"
