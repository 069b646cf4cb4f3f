"""API for policy values (standards) and the monthly CPI."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from beneficiaries.models import Region
from core.fields import input_field
from core.months import first_of_month, local_time
from core.serializers import MonthField
from rules.models import PriceIndex, Standard
from rules.parameters import CATALOGUE
from rules.selectors import price_indices_visible_to, standards_visible_to
from rules.services import add_standard, record_price_index


def _region_field() -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="code", queryset=Region.objects.all())


class StandardInput(serializers.Serializer):
    region = _region_field()
    # Checked against the catalogue by the service, so components other apps register count.
    component = serializers.CharField(max_length=60)
    category = serializers.CharField(required=False, allow_blank=True, default="", max_length=24)
    value = input_field(Standard, "value")
    effective_from = input_field(Standard, "effective_from")
    note = input_field(Standard, "note", default="")


class StandardOutput(serializers.ModelSerializer):
    region = serializers.CharField(source="region.code")
    region_name = serializers.CharField(source="region.name")
    label = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username", default=None, allow_null=True)
    retroactive = serializers.SerializerMethodField()

    class Meta:
        model = Standard
        fields = [
            "id",
            "region",
            "region_name",
            "category",
            "component",
            "label",
            "value",
            "effective_from",
            "note",
            "created_by",
            "created_at",
            "retroactive",
        ]

    def get_label(self, standard) -> str:
        component = CATALOGUE.get(standard.component)
        return component.label if component else ""

    def get_retroactive(self, standard) -> bool:
        """True when it took effect before the month it was entered: back pay is due."""
        return standard.effective_from < first_of_month(local_time(standard.created_at).date())


class CreateThroughService:
    """POST: parse with ``input_class``, call the service, render with ``serializer_class``."""

    input_class: type[serializers.Serializer]

    def create(self, request, *args, **kwargs):
        data = self.input_class(data=request.data)
        data.is_valid(raise_exception=True)
        created = self.perform_service(by=request.user, **data.validated_data)
        return Response(self.get_serializer(created).data, status=201)


@extend_schema_view(create=extend_schema(request=StandardInput))
class StandardViewSet(
    CreateThroughService,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Policy values with their effective dates. Values are never edited: POST a new one."""

    resource = "standard"
    serializer_class = StandardOutput
    filterset_fields = ["component", "category", "region__code"]
    ordering_fields = ["effective_from", "component", "created_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Standard.objects.none()
        return standards_visible_to(user=self.request.user).select_related("created_by")

    input_class = StandardInput

    def perform_service(self, *, by, **data):
        return add_standard(by=by, **data)


class PriceIndexInput(serializers.Serializer):
    region = _region_field()
    month = MonthField(validators=PriceIndex._meta.get_field("month").validators)
    cpi_rise_percent = input_field(PriceIndex, "cpi_rise_percent")


class PriceIndexOutput(serializers.ModelSerializer):
    region = serializers.CharField(source="region.code")
    month = MonthField()
    recorded_by = serializers.CharField(
        source="recorded_by.username", default=None, allow_null=True
    )

    class Meta:
        model = PriceIndex
        fields = ["id", "region", "month", "cpi_rise_percent", "recorded_by", "created_at"]


@extend_schema_view(create=extend_schema(request=PriceIndexInput))
class PriceIndexViewSet(CreateThroughService, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The monthly CPI rise of each city, recorded by finance."""

    resource = "price-index"
    serializer_class = PriceIndexOutput
    filterset_fields = ["region__code", "month"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return PriceIndex.objects.none()
        return price_indices_visible_to(user=self.request.user).select_related("recorded_by")

    input_class = PriceIndexInput

    def perform_service(self, *, by, **data):
        return record_price_index(by=by, **data)
