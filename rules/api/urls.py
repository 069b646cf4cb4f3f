"""Rules API routes: policy values, the monthly CPI and the working-day calendar."""

from core.routers import Router
from rules.api.calendar import CalendarYearViewSet
from rules.api.standards import PriceIndexViewSet, StandardViewSet

router = Router()
router.register("standards", StandardViewSet, basename="standard")
router.register("price-indices", PriceIndexViewSet, basename="price-index")
router.register("calendar-years", CalendarYearViewSet, basename="calendar-year")

urlpatterns = router.urls
