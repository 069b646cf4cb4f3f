"""Rules API routes: policy values and the monthly CPI."""

from rest_framework.routers import SimpleRouter

from rules.api.standards import PriceIndexViewSet, StandardViewSet

router = SimpleRouter()
router.register("standards", StandardViewSet, basename="standard")
router.register("price-indices", PriceIndexViewSet, basename="price-index")

urlpatterns = router.urls
