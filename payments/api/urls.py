"""Payments API routes. Other payments features register their viewsets on ``router``."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from payments.api.batches import BatchViewSet
from payments.api.standards import ExplainEnrolmentView, PriceIndexViewSet, StandardViewSet

router = SimpleRouter()
router.register("standards", StandardViewSet, basename="standard")
router.register("price-indices", PriceIndexViewSet, basename="price-index")
router.register("batches", BatchViewSet, basename="batch")

urlpatterns = [
    path(
        "enrolments/<int:pk>/explain/",
        ExplainEnrolmentView.as_view(),
        name="enrolment-explain",
    ),
    *router.urls,
]
