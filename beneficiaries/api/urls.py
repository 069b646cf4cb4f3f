from beneficiaries.api import views
from core.routers import Router

router = Router()
router.register("regions", views.RegionViewSet, basename="region")
router.register("households", views.HouseholdViewSet, basename="household")
router.register("members", views.MemberViewSet, basename="member")
router.register("incomes", views.IncomeItemViewSet, basename="income")
router.register("assets", views.AssetViewSet, basename="asset")
router.register("read-log", views.ReadEntryViewSet, basename="read-entry")

urlpatterns = router.urls
