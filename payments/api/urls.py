from rest_framework.routers import DefaultRouter

from payments.api.batches import BatchViewSet

router = DefaultRouter()
router.register("batches", BatchViewSet, basename="batch")

urlpatterns = router.urls
