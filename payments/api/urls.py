"""Payments API routes. Other payments features register their viewsets on ``router``."""

from django.urls import path

from core.routers import Router
from payments.api import bank, cpi
from payments.api.batches import BatchViewSet, PaymentLineViewSet

router = Router()
router.register("batches", BatchViewSet, basename="batch")
router.register("payment-lines", PaymentLineViewSet, basename="payment-line")
router.register("recoveries", bank.RecoveryViewSet, basename="recovery")

urlpatterns = [
    path("batches/<int:pk>/review/", bank.ReviewView.as_view(), name="batch-review"),
    path("batches/<int:pk>/diff/", bank.DiffView.as_view(), name="batch-diff"),
    path("batches/<int:pk>/submit/", bank.SubmitView.as_view(), name="batch-submit"),
    path("batches/<int:pk>/approve/", bank.ApproveView.as_view(), name="batch-approve"),
    path("batches/<int:pk>/bank-file/", bank.ExportView.as_view(), name="batch-bank-file"),
    path("batches/<int:pk>/return-file/", bank.ReturnFileView.as_view(), name="batch-return-file"),
    path("batches/<int:pk>/close/", bank.CloseView.as_view(), name="batch-close"),
    path(
        "price-indices/<int:pk>/correction/",
        cpi.PriceIndexCorrectionView.as_view(),
        name="price-index-correction",
    ),
    *router.urls,
]
