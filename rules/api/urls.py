"""Rules API routes: policy values and the monthly CPI."""

from core.routers import Router
from rules.api.standards import PriceIndexViewSet, StandardViewSet

router = Router()
router.register("standards", StandardViewSet, basename="standard")
router.register("price-indices", PriceIndexViewSet, basename="price-index")

urlpatterns = router.urls
