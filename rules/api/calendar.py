"""API for the working-day calendar: every signed-in user reads it; administrators enter a year
from the State Council's notice (POST again to correct it)."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from core.fields import input_field
from rules.calendar import FIRST_YEAR, LAST_YEAR, Period, enter_year
from rules.models import CalendarPeriod, CalendarYear


class PeriodSerializer(serializers.ModelSerializer):
    class Meta:
        model = CalendarPeriod
        fields = ["kind", "first_day", "last_day", "name"]


class PeriodInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=CalendarPeriod.Kind.choices)
    first_day = serializers.DateField()
    last_day = serializers.DateField(required=False, help_text="Defaults to first_day.")
    name = input_field(CalendarPeriod, "name", default="")

    def validate(self, data):
        return Period(
            kind=data["kind"],
            first_day=data["first_day"],
            last_day=data.get("last_day", data["first_day"]),
            name=data["name"],
        )


class CalendarYearInput(serializers.Serializer):
    year = serializers.IntegerField(min_value=FIRST_YEAR, max_value=LAST_YEAR)
    source = input_field(CalendarYear, "source", help_text="The notice, e.g. 国办发明电〔2026〕号")
    periods = PeriodInput(many=True, allow_empty=False)


class CalendarYearSerializer(serializers.ModelSerializer):
    confirmed_by = serializers.CharField(
        source="confirmed_by.username", default=None, allow_null=True
    )
    periods = PeriodSerializer(many=True)

    class Meta:
        model = CalendarYear
        fields = ["year", "source", "confirmed_by", "confirmed_at", "periods"]


class CalendarYearViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The confirmed years of the working-day calendar. A year not listed is not confirmed:
    deadlines in it count Monday to Friday and are marked provisional."""

    resource = "calendar-year"
    queryset = CalendarYear.objects.select_related("confirmed_by").prefetch_related("periods")
    serializer_class = CalendarYearSerializer
    lookup_field = "year"
    pagination_class = None

    @extend_schema(request=CalendarYearInput, responses={201: CalendarYearSerializer})
    def create(self, request):
        """Enter a year's public holidays and make-up working days (调休) from the State
        Council's notice; entering a year again replaces its periods. Open deadlines that cross
        the year are counted again."""
        data = CalendarYearInput(data=request.data)
        data.is_valid(raise_exception=True)
        entry = enter_year(by=request.user, **data.validated_data)
        entry = self.get_queryset().get(pk=entry.pk)
        return Response(self.get_serializer(entry).data, status=status.HTTP_201_CREATED)
