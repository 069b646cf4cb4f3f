"""API of a CPI correction: ``POST /api/price-indices/{id}/correction/`` (finance or admin,
within their region)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fields import input_field
from core.months import format_month
from payments import cpi
from rules.models import PriceIndex, PriceIndexCorrection


class CorrectionInput(serializers.Serializer):
    cpi_rise_percent = input_field(PriceIndex, "cpi_rise_percent")
    reason = input_field(PriceIndexCorrection, "reason")


class CorrectionOutput(serializers.ModelSerializer):
    region = serializers.CharField(source="price_index.region.code")
    month = serializers.SerializerMethodField()
    corrected_by = serializers.CharField(source="corrected_by.username")

    class Meta:
        model = PriceIndexCorrection
        fields = [
            "id",
            "price_index",
            "region",
            "month",
            "cpi_before",
            "cpi_after",
            "reason",
            "corrected_by",
            "created_at",
        ]

    def get_month(self, correction) -> str:
        return format_month(correction.price_index.month)


class PriceIndexCorrectionView(APIView):
    """Correct a recorded CPI figure: the month's unapproved batches are computed again, and
    approved months are back-paid or recovered by the next batch."""

    resource = "price-index"

    @extend_schema(request=CorrectionInput, responses={201: CorrectionOutput})
    def post(self, request, pk: int):
        price_index = get_object_or_404(
            PriceIndex.objects.select_related("region"),
            pk=pk,
            region__code__startswith=request.user.region_prefix,
        )
        data = CorrectionInput(data=request.data)
        data.is_valid(raise_exception=True)
        correction = cpi.correct_price_index(
            price_index=price_index, by=request.user, **data.validated_data
        )
        return Response(CorrectionOutput(correction).data, status=201)
