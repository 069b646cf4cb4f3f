"""API of the monthly batch: create and compute, watch progress, recompute, resume."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from beneficiaries.models import Region
from beneficiaries.readlog import LoggedReadsMixin
from core.api import ScopedViewSetMixin
from core.fields import EARLIEST_RECORD, NotAfterToday, not_before
from core.serializers import MonthField
from payments import batches, explanations
from payments.models import PaymentBatch, PaymentLine


class BatchSerializer(serializers.ModelSerializer):
    region_code = serializers.CharField(source="region.code", read_only=True)
    region_name = serializers.CharField(source="region.name", read_only=True)
    month = MonthField(read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = PaymentBatch
        fields = [
            "id",
            "region_code",
            "region_name",
            "month",
            "status",
            "chunks_total",
            "chunks_done",
            "line_count",
            "total_amount",
            "progress",
            "error",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_progress(self, batch: PaymentBatch) -> dict:
        return batches.batch_progress(batch=batch)


class CreateBatchSerializer(serializers.Serializer):
    region = serializers.CharField(max_length=12, help_text=_("市或县(区)代码，如 3211"))
    month = MonthField(
        help_text="YYYY-MM", validators=[not_before(EARLIEST_RECORD), NotAfterToday(days=366)]
    )

    def validate_region(self, code: str) -> Region:
        user = self.context["request"].user
        region = Region.objects.filter(code=code.ljust(12, "0")).first()
        if region is None or not region.code.startswith(user.region_prefix):
            raise serializers.ValidationError(_("没有这个地区，或不在您的管辖范围内。"))
        return region


class BatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = BatchSerializer
    resource = "batch"
    filterset_fields = ["status", "month"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return PaymentBatch.objects.none()
        return PaymentBatch.objects.select_related("region").filter(
            region__code__startswith=self.request.user.region_prefix
        )

    @extend_schema(request=CreateBatchSerializer, responses={201: BatchSerializer})
    def create(self, request):
        form = CreateBatchSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        batch = batches.create_batch(
            region=form.validated_data["region"],
            month=form.validated_data["month"],
            by=request.user,
        )
        batch = batches.compute_batch(batch=batch)
        return Response(BatchSerializer(batch).data, status=201)

    @extend_schema(request=None, responses={202: BatchSerializer})
    @action(detail=True, methods=["post"])
    def recompute(self, request, pk=None):
        batch = batches.recompute_batch(
            batch=get_object_or_404(self.get_queryset(), pk=pk), by=request.user
        )
        return Response(BatchSerializer(batch).data, status=202)

    @extend_schema(request=None, responses={202: BatchSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        batch = get_object_or_404(self.get_queryset(), pk=pk)
        batches.resume_batch(batch=batch)
        batch.refresh_from_db()
        return Response(BatchSerializer(batch).data, status=202)


class ExplanationSerializer(serializers.Serializer):
    """An explanation in words (rules.steps.render): each step's rule, formula, inputs in the
    order the formula uses them and result; the parameters used, each with the date it took
    effect; the whole as text."""

    steps = serializers.ListField(child=serializers.DictField())
    parameters = serializers.ListField(child=serializers.DictField())
    text = serializers.CharField()


class PaymentLineListSerializer(serializers.ListSerializer):
    """Lines read together: the Standard rows their explanations name, in one query."""

    def to_representation(self, data):
        lines = list(data.all() if hasattr(data, "all") else data)
        self.child.sources = explanations.sources_for(line.explanation_ref for line in lines)
        return super().to_representation(lines)


class PaymentLineSerializer(serializers.ModelSerializer):
    """A line as it was computed and paid, with the explanation stored when it was computed, in
    the reader's language (Chinese; English with ``?lang=en`` or ``Accept-Language: en``)."""

    month = MonthField(read_only=True)
    explanation = serializers.SerializerMethodField()
    sources = None  # set by PaymentLineListSerializer

    class Meta:
        model = PaymentLine
        list_serializer_class = PaymentLineListSerializer
        fields = [
            "id",
            "batch",
            "month",
            "kind",
            "enrolment",
            "household",
            "region_code",
            "category",
            "source_ref",
            "amount",
            "explanation",
            "parameter_versions",
            "status",
            "failure_reason",
        ]
        read_only_fields = fields

    @extend_schema_field(ExplanationSerializer)
    def get_explanation(self, line: PaymentLine) -> dict:
        return explanations.in_words(line, sources=self.sources)


class PaymentLineViewSet(LoggedReadsMixin, ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Why a household was paid what it was: each line with the steps that computed it (each
    read logged, ``beneficiaries.readlog``)."""

    queryset = PaymentLine.objects.select_related("explanation_ref").order_by("id")
    serializer_class = PaymentLineSerializer
    resource = "payment-line"
    filterset_fields = ["batch", "household", "enrolment", "kind", "status"]
    read_log_name = "payment_line"
