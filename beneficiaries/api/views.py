"""Registry API: thin views that parse input, call one service and render the result."""

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from beneficiaries import imports, readlog, services
from beneficiaries.api import filters
from beneficiaries.api import serializers as s
from beneficiaries.models import Asset, Household, IncomeItem, Member, ReadEntry, Region
from beneficiaries.readlog import LoggedReadsMixin
from core.api import ScopedViewSetMixin

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class RegionViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Regions of the user's subtree (read-only reference data)."""

    queryset = Region.objects.all()
    serializer_class = s.RegionSerializer
    filterset_class = filters.RegionFilter
    scope_field = "code"
    resource = "region"
    ordering_fields = ["code", "name"]


class RegistryViewSet(
    LoggedReadsMixin,
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """List and retrieve in scope, each read logged (``beneficiaries.readlog``); writes (POST,
    PATCH) go through the services."""

    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering_fields = ["id", "created_at"]

    def parse(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def render(self, instance, code=status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(instance).data, status=code)


class HouseholdViewSet(RegistryViewSet):
    """Households (户) of the user's subtree."""

    resource = "household"
    queryset = Household.objects.select_related("village", "head")
    serializer_class = s.HouseholdSerializer
    filterset_class = filters.HouseholdFilter
    read_log_name = "household"
    read_household = None
    ordering_fields = ["id", "created_at", "address", "region_code"]

    def get_serializer_class(self):
        if self.action == "retrieve":
            return s.HouseholdDetailSerializer
        return super().get_serializer_class()

    @extend_schema(request=s.HouseholdInput, responses={201: s.HouseholdSerializer})
    def create(self, request):
        household = services.register_household(by=request.user, **self.parse(s.HouseholdInput))
        return self.render(household, status.HTTP_201_CREATED)

    @extend_schema(request=s.HouseholdUpdateInput, responses=s.HouseholdSerializer)
    def partial_update(self, request, pk=None):
        household = services.update_household(
            household=self.get_object(), by=request.user, **self.parse(s.HouseholdUpdateInput)
        )
        return self.render(household)

    @extend_schema(request=s.SetHeadInput, responses=s.HouseholdSerializer)
    @action(detail=True, methods=["post"], url_path="set-head")
    def set_head(self, request, pk=None):
        """Make an active member the head of household (户主)."""
        household = self.get_object()
        data = self.parse(s.SetHeadInput)
        household = services.set_head(household=household, by=request.user, **data)
        return self.render(household)

    @extend_schema(
        request={"multipart/form-data": s.ImportInput},
        responses={201: s.ImportResultSerializer, 400: s.ImportResultSerializer},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_file(self, request):
        """Import households and members from an XLSX or CSV file (docs/import-template.md).

        All or nothing: on any error nothing is written and the 400 lists every bad cell.
        """
        data = self.parse(s.ImportInput)
        upload = data["file"]
        result = imports.import_households(
            content=upload.read(),
            filename=upload.name,
            by=request.user,
            village_scope=data.get("village_scope"),
        )
        code = status.HTTP_201_CREATED if result.ok else status.HTTP_400_BAD_REQUEST
        return Response(result.as_dict(), status=code)

    @extend_schema(
        parameters=[OpenApiParameter("type", str, enum=["xlsx", "csv"], default="xlsx")],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, XLSX): OpenApiResponse(OpenApiTypes.BINARY),
        },
        filters=False,
    )
    @action(detail=False, methods=["get"], url_path="import-template", pagination_class=None)
    def import_template(self, request):
        """The import template: headers (and a help sheet in the XLSX)."""
        kind = request.query_params.get("type", "xlsx")
        if kind not in ("xlsx", "csv"):
            raise ValidationError({"type": [_("须为 xlsx 或 csv")]})
        if kind == "csv":
            body, kind, name = imports.template_csv(), "text/csv; charset=utf-8", "csv"
        else:
            body = imports.template_xlsx()
            kind, name = XLSX, "xlsx"
        response = HttpResponse(body, content_type=kind)
        response["Content-Disposition"] = f'attachment; filename="household-import.{name}"'
        return response


class MemberViewSet(RegistryViewSet):
    """Members of the households in the user's subtree. Death is recorded by casework."""

    resource = "member"
    queryset = Member.objects.select_related("household")
    serializer_class = s.MemberSerializer
    filterset_class = filters.MemberFilter
    read_log_name = "member"
    scope_field = "household__region_code"
    ordering_fields = ["id", "created_at", "name", "birth_date"]

    @extend_schema(request=s.MemberInput, responses={201: s.MemberSerializer})
    def create(self, request):
        member = services.add_member(by=request.user, **self.parse(s.MemberInput))
        return self.render(member, status.HTTP_201_CREATED)

    @extend_schema(request=s.MemberUpdateInput, responses=s.MemberSerializer)
    def partial_update(self, request, pk=None):
        member = services.update_member(
            member=self.get_object(), by=request.user, **self.parse(s.MemberUpdateInput)
        )
        return self.render(member)


class IncomeItemViewSet(RegistryViewSet):
    """Income items (and deductible costs) of members in the user's subtree."""

    resource = "income"
    queryset = IncomeItem.objects.select_related("member")
    serializer_class = s.IncomeItemSerializer
    filterset_class = filters.IncomeItemFilter
    read_log_name = "income"
    read_household = "member.household"
    scope_field = "member__household__region_code"
    ordering_fields = ["id", "valid_from", "monthly_amount"]

    @extend_schema(request=s.IncomeInput, responses={201: s.IncomeItemSerializer})
    def create(self, request):
        income = services.add_income(by=request.user, **self.parse(s.IncomeInput))
        return self.render(income, status.HTTP_201_CREATED)

    @extend_schema(request=s.IncomeEndInput, responses=s.IncomeItemSerializer)
    def partial_update(self, request, pk=None):
        """End the income's period (set ``valid_to``); amounts are never rewritten."""
        income = services.end_income(
            income=self.get_object(), by=request.user, **self.parse(s.IncomeEndInput)
        )
        return self.render(income)


class AssetViewSet(RegistryViewSet):
    """Assets of the households in the user's subtree."""

    resource = "asset"
    queryset = Asset.objects.all()
    serializer_class = s.AssetSerializer
    filterset_class = filters.AssetFilter
    read_log_name = "asset"
    scope_field = "household__region_code"
    http_method_names = ["get", "post", "head", "options"]
    ordering_fields = ["id", "value"]

    @extend_schema(request=s.AssetInput, responses={201: s.AssetSerializer})
    def create(self, request):
        asset = services.add_asset(by=request.user, **self.parse(s.AssetInput))
        return self.render(asset, status.HTTP_201_CREATED)


class ReadEntryViewSet(ScopedViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Who read whom (查阅记录), for auditors: the read log of their subtree, per household
    (``?household=``), per user (``?user=``), per kind and per day; as CSV or XLSX too."""

    queryset = ReadEntry.objects.select_related("user", "token")
    serializer_class = s.ReadEntrySerializer
    filterset_class = filters.ReadEntryFilter
    resource = "read-log"
    ordering_fields = ["id", "at"]

    def _export(self, content, content_type: str, extension: str) -> HttpResponse:
        response_class = HttpResponse if isinstance(content, bytes) else StreamingHttpResponse
        response = response_class(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="read-log.{extension}"'
        return response

    def _rows(self):
        return self.filter_queryset(self.get_queryset()).iterator(chunk_size=2000)

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY)})
    @action(detail=False, methods=["get"], url_path="export-csv", pagination_class=None)
    def export_csv(self, request):
        return self._export(readlog.entries_csv(self._rows()), "text/csv; charset=utf-8", "csv")

    @extend_schema(responses={(200, XLSX): OpenApiResponse(OpenApiTypes.BINARY)})
    @action(detail=False, methods=["get"], url_path="export-xlsx", pagination_class=None)
    def export_xlsx(self, request):
        return self._export(readlog.entries_xlsx(self._rows()), XLSX, "xlsx")
