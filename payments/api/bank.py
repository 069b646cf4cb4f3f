"""API of the bank side of a batch: review, approval, bank files, return files, recoveries."""

from django.conf import settings
from django.db import connection, transaction
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.generics import ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from beneficiaries.models import Household
from beneficiaries.readlog import LoggedReadsMixin, log_read
from core.fields import EARLIEST_RECORD, NotAfterToday, input_field, not_before
from core.serializers import MonthField
from core.uploads import UploadField
from payments import approval, bankfiles, reconciliation, recoveries, review
from payments.api.batches import BatchSerializer
from payments.models import BankFile, BankReturn, PaymentBatch, PaymentLine, Recovery


def _batch(request, pk: int) -> PaymentBatch:
    """The batch, if it is in the user's region subtree (else 404)."""
    return get_object_or_404(
        PaymentBatch.objects.select_related("region", "prepared_by", "approved_by"),
        pk=pk,
        region__code__startswith=request.user.region_prefix,
    )


class TotalSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    line_count = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=16, decimal_places=2)


class BatchReviewSerializer(serializers.Serializer):
    batch = BatchSerializer()
    by_category = TotalSerializer(many=True)
    by_district = TotalSerializer(many=True)
    changes = serializers.DictField(child=serializers.IntegerField())


class ReviewView(APIView):
    """Totals by category and district, and how many lines are new, stopped or changed."""

    resource, policy_action = "batch", "review"

    @extend_schema(responses=BatchReviewSerializer)
    def get(self, request, pk: int):
        batch = _batch(request, pk)
        summary = review.summary(batch=batch)
        return Response(
            {
                "batch": BatchSerializer(batch).data,
                "by_category": TotalSerializer(summary.by_category, many=True).data,
                "by_district": TotalSerializer(summary.by_district, many=True).data,
                "changes": summary.changes,
            }
        )


class DiffLineSerializer(serializers.ModelSerializer):
    previous_amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    adjustment_id = serializers.IntegerField(allow_null=True)
    adjustment_kind = serializers.CharField(allow_null=True)
    adjustment_reason = serializers.CharField(allow_null=True)

    class Meta:
        model = PaymentLine
        fields = [
            "id",
            "batch",
            "enrolment",
            "household",
            "region_code",
            "category",
            "amount",
            "previous_amount",
            "adjustment_id",
            "adjustment_kind",
            "adjustment_reason",
            "parameter_versions",
        ]


class DiffView(ListAPIView):
    """Lines new, stopped (``?change=stopped``: last month's lines) or changed since last month."""

    resource, policy_action = "batch", "diff"
    serializer_class = DiffLineSerializer
    filter_backends: list = []
    known_count: int | None = None  # the review's count of the list (StandardPagination)

    def get_queryset(self):
        change = self.request.query_params.get("change", "new")
        if change not in review.CHANGES:
            raise serializers.ValidationError({"change": [_("须为 new、stopped 或 changed")]})
        batch = _batch(self.request, self.kwargs["pk"])
        summary = review.summary(batch=batch)
        self.known_count = summary.changes[change]
        lines = review.diff_lines(batch=batch, change=change)
        if change in summary.ids:  # few lines: each page read by id (none: no query)
            return review.KeptLines(lines, summary.ids[change])
        return lines

    def list(self, request, *args, **kwargs):
        # The lines name households and the reasons of their changes: one read-log entry a page.
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # The planner prices a page of a sparse list as the whole batch and compiles it
                # with JIT (0.4 s) before reading its few thousand rows in 10 ms.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL jit = off")
            response = super().list(request, *args, **kwargs)
        log_read(request=request, what="batch.diff", rows=len(response.data["results"]))
        return response


class SubmitView(APIView):
    """Submit a computed batch for approval as its preparer of record (a batch drafted by beat
    or ``run_payroll`` must be submitted by a finance user before anyone may approve it)."""

    resource, policy_action = "batch", "submit"

    @extend_schema(request=None, responses=BatchSerializer)
    def post(self, request, pk: int):
        batch = approval.submit_batch(batch=_batch(request, pk), by=request.user)
        return Response(BatchSerializer(batch).data)


class ApproveView(APIView):
    """Approve as the checker: a finance user of the region who is not the preparer of record;
    a second approval is a 409."""

    resource, policy_action = "batch", "approve"

    @extend_schema(request=None, responses=BatchSerializer)
    def post(self, request, pk: int):
        batch = approval.approve_batch(batch=_batch(request, pk), by=request.user)
        return Response(BatchSerializer(batch).data)


class CloseView(APIView):
    """Close a reconciled batch."""

    resource = "batch"

    @extend_schema(request=None, responses=BatchSerializer)
    def post(self, request, pk: int):
        batch = approval.close_batch(batch=_batch(request, pk), by=request.user)
        return Response(BatchSerializer(batch).data)


class BankFileSerializer(serializers.ModelSerializer):
    class Meta:
        model = BankFile
        fields = ["id", "batch", "format", "sha256", "record_count", "total_amount", "created_at"]


class ExportView(APIView):
    """POST: export the approved batch (CSV and XLSX). GET ?file_format=csv|xlsx: download it."""

    resource = "bank-file"

    @extend_schema(request=None, responses={201: BankFileSerializer(many=True)})
    def post(self, request, pk: int):
        files = bankfiles.export_batch(batch=_batch(request, pk), by=request.user)
        log_read(
            request=request,
            what="bank_file.export",
            rows=files[0].record_count,
            query=f"batch={pk}",
        )
        return Response(BankFileSerializer(files, many=True).data, status=201)

    @extend_schema(
        parameters=[OpenApiParameter("file_format", enum=BankFile.Format.values)],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    def get(self, request, pk: int):
        fmt = request.query_params.get("file_format", BankFile.Format.CSV)
        bank_file = get_object_or_404(BankFile, batch=_batch(request, pk), format=fmt)
        response = FileResponse(
            bankfiles.open_bank_file(bank_file=bank_file),
            as_attachment=True,
            filename=bank_file.path.rsplit("/", 1)[-1],
        )
        response["X-Checksum-SHA256"] = bank_file.sha256
        log_read(
            request=request,
            what="bank_file.download",
            rows=bank_file.record_count,
            query=f"batch={pk}&file_format={bank_file.format}",
        )
        return response


class ReturnFileSerializer(serializers.Serializer):
    file = UploadField(max_bytes=lambda: settings.RETURN_FILE_MAX_BYTES)


class BankReturnSerializer(serializers.ModelSerializer):
    class Meta:
        model = BankReturn
        fields = [
            "batch",
            "sha256",
            "paid_count",
            "paid_total",
            "failed_count",
            "failed_total",
            "imported_at",
        ]


class ReturnFileView(APIView):
    """Import the bank's return file; refused (400) naming what differs from the export."""

    resource = "bank-file"
    parser_classes = [MultiPartParser]

    @extend_schema(request=ReturnFileSerializer, responses={201: BankReturnSerializer})
    def post(self, request, pk: int):
        form = ReturnFileSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        bank_return = reconciliation.import_return_file(
            batch=_batch(request, pk), content=upload.read(), filename=upload.name, by=request.user
        )
        return Response(BankReturnSerializer(bank_return).data, status=201)


class RecoverySerializer(serializers.ModelSerializer):
    offset = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    outstanding = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)

    class Meta:
        model = Recovery
        fields = [
            "id",
            "household",
            "region_code",
            "enrolment",
            "month",
            "reason",
            "amount",
            "offset",
            "repaid_amount",
            "outstanding",
            "note",
            "detected_in_batch",
            "approved_at",
            "repaid_at",
            "created_at",
        ]
        read_only_fields = fields


class RecordRecoverySerializer(serializers.Serializer):
    household = serializers.IntegerField()
    amount = input_field(Recovery, "amount")
    reason = serializers.ChoiceField(choices=Recovery.Reason.choices)
    note = input_field(Recovery, "note", required=True, allow_blank=False)
    month = MonthField(
        required=False, allow_null=True, validators=[not_before(EARLIEST_RECORD), NotAfterToday()]
    )

    def validate_household(self, pk: int) -> Household:
        prefix = self.context["request"].user.region_prefix
        household = Household.objects.filter(pk=pk, region_code__startswith=prefix).first()
        if household is None:
            raise serializers.ValidationError(_("没有这个家庭，或不在您的管辖范围内。"))
        return household


class RecoveryViewSet(
    LoggedReadsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Recoveries in the user's region: list, record one found by audit, mark one repaid (each
    read logged, ``beneficiaries.readlog``)."""

    serializer_class = RecoverySerializer
    resource = "recovery"
    read_log_name = "recovery"
    filterset_fields = ["household", "reason"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Recovery.objects.none()
        return recoveries.with_balance(
            Recovery.objects.filter(region_code__startswith=self.request.user.region_prefix)
        )

    @extend_schema(request=RecordRecoverySerializer, responses={201: RecoverySerializer})
    def create(self, request):
        form = RecordRecoverySerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        recovery = recoveries.record_recovery(**form.validated_data, by=request.user)
        return Response(
            RecoverySerializer(self.get_queryset().get(pk=recovery.pk)).data, status=201
        )

    @extend_schema(request=None, responses=RecoverySerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """A second finance user approves a recovery recorded by hand: batches offset it."""
        recovery = recoveries.approve_recovery(recovery=self.get_object(), by=request.user)
        return Response(RecoverySerializer(self.get_queryset().get(pk=recovery.pk)).data)

    @extend_schema(request=None, responses=RecoverySerializer)
    @action(detail=True, methods=["post"])
    def repaid(self, request, pk=None):
        recovery = recoveries.mark_repaid(recovery=self.get_object(), by=request.user)
        return Response(RecoverySerializer(self.get_queryset().get(pk=recovery.pk)).data)
