"""Casework API: thin views that parse input, call one service and render the result.

Every list and detail is scoped to the user's region subtree (out of scope → 404); each view's
``resource`` names its rule in ``core.policy`` (a role it does not name → 403); an illegal move
or a duplicate is a 409 with the reason, from the services.
"""

import django_filters
from django.db import connection
from django.db.models import F, Q, Sum
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from beneficiaries import services as registry
from beneficiaries.api import filters as registry_filters
from beneficiaries.api import serializers as registry_serializers
from beneficiaries.api.views import RegistryViewSet
from beneficiaries.models import Household, MemberMove, User
from beneficiaries.readlog import LoggedReadsMixin, log_read
from casework import exports, selectors
from casework.api import serializers as s
from casework.models import (
    Adjustment,
    AdjustmentCount,
    Application,
    ChangeRequest,
    Enrolment,
    Objection,
    Referral,
    ReliefCase,
)
from casework.services import (
    applications,
    changes,
    referrals,
    registry_events,
    reviews,
    temporary_relief,
)
from core.api import ScopedViewSetMixin
from core.months import add_months, local_time
from core.scope import scope

Role = User.Role


class CaseworkViewSet(
    LoggedReadsMixin,
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Casework records in scope; each read logged (``beneficiaries.readlog``)."""

    ordering_fields = ["id"]

    def parse(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def render(self, instance, serializer_class=None, code=status.HTTP_200_OK) -> Response:
        serializer_class = serializer_class or self.get_serializer_class()
        return Response(
            serializer_class(instance, context=self.get_serializer_context()).data, status=code
        )

    def render_list(self, queryset, serializer_class=None) -> Response:
        """A page of ``queryset`` with the view's filters applied (a bad filter value is a 400,
        as on the plain list)."""
        serializer_class = serializer_class or self.get_serializer_class()
        page = self.paginate_queryset(self.filter_queryset(queryset))
        data = serializer_class(page, many=True, context=self.get_serializer_context()).data
        log_read(request=self.request, what=f"{self.read_log_name}.{self.action}", rows=len(data))
        return self.get_paginated_response(data)


class ReferralViewSet(CaseworkViewSet):
    """Grid workers' flags (主动发现): a grid worker sees only their own."""

    queryset = Referral.objects.select_related("village")
    read_log_name = "referral"
    read_household = ""
    serializer_class = s.ReferralSerializer
    resource = "referral"
    filterset_fields = ["status", "reason"]

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.request.user.role == Role.GRID_WORKER:
            return queryset.filter(flagged_by=self.request.user)
        return queryset

    @extend_schema(
        request={"application/json": s.ReferralInput, "multipart/form-data": s.ReferralInput},
        responses={201: s.ReferralSerializer, 200: s.ReferralSerializer},
    )
    def create(self, request):
        """Flag a candidate; sent again with the same ``idempotency_key``, the flag the first
        sending made is answered with 200."""
        data = self.parse(s.ReferralInput)
        key = data.get("idempotency_key")
        resent = key is not None and Referral.objects.filter(idempotency_key=key).exists()
        referral = referrals.flag_candidate(by=request.user, **data)
        return self.render(referral, code=status.HTTP_200_OK if resent else status.HTTP_201_CREATED)

    @extend_schema(request=s.ApplicationInput, responses={201: s.ApplicationSerializer})
    @action(detail=True, methods=["post"])
    def convert(self, request, pk=None):
        """The township caseworker turns the flag into an application."""
        application = referrals.convert_referral(
            referral=self.get_object(), by=request.user, **self.parse(s.ApplicationInput)
        )
        return self.render(application, s.ApplicationSerializer, status.HTTP_201_CREATED)

    @extend_schema(request=s.RejectInput, responses=s.ReferralSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        referral = referrals.reject_referral(
            referral=self.get_object(), by=request.user, **self.parse(s.RejectInput)
        )
        return self.render(referral)


class ApplicationViewSet(CaseworkViewSet):
    """Applications (cases) from submission to approval or refusal."""

    queryset = Application.objects.all()
    read_log_name = "application"
    serializer_class = s.ApplicationSerializer
    resource = "application"
    filterset_fields = ["state", "category", "household"]

    def get_serializer_class(self):
        if self.action == "retrieve":
            return s.ApplicationDetailSerializer
        return super().get_serializer_class()

    @extend_schema(request=s.ApplicationInput, responses={201: s.ApplicationSerializer})
    def create(self, request):
        application = applications.submit_application(
            by=request.user, **self.parse(s.ApplicationInput)
        )
        return self.render(application, code=status.HTTP_201_CREATED)

    @extend_schema(request=s.MoveInput, responses=s.ApplicationDetailSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        """Move the case to its next step; 409 says who may move it and from where."""
        application = applications.move_application(
            application=self.get_object(), by=request.user, **self.parse(s.MoveInput)
        )
        return self.render(application, s.ApplicationDetailSerializer)

    @extend_schema(request=s.ObjectionInput, responses={201: s.ObjectionSerializer})
    @action(detail=True, methods=["post"])
    def objections(self, request, pk=None):
        """Record an objection raised during the public notice."""
        objection = applications.raise_objection(
            application=self.get_object(), by=request.user, **self.parse(s.ObjectionInput)
        )
        return self.render(objection, s.ObjectionSerializer, status.HTTP_201_CREATED)

    @extend_schema(responses=s.ApplicationSerializer(many=True))
    @action(detail=False, methods=["get"])
    def overdue(self, request):
        """Open cases past the deadline of their current step."""
        return self.render_list(selectors.overdue_applications(user=request.user))


class ObjectionViewSet(CaseworkViewSet):
    queryset = Objection.objects.all()
    read_log_name = "objection"
    read_household = "application.household"
    serializer_class = s.ObjectionSerializer
    resource = "objection"
    scope_field = "application__region_code"

    @extend_schema(request=s.ResolveInput, responses=s.ObjectionSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        objection = applications.resolve_objection(
            objection=self.get_object(), by=request.user, **self.parse(s.ResolveInput)
        )
        return self.render(objection)


CHANGES = {
    "stop": (ChangeRequest.Kind.STOP, s.ChangeInput),
    "resume": (ChangeRequest.Kind.RESUME, s.ChangeInput),
    "increase": (ChangeRequest.Kind.INCREASE, s.ChangeInput),
    "decrease": (ChangeRequest.Kind.DECREASE, s.ChangeInput),
    "gradual-exit": (ChangeRequest.Kind.GRADUAL_EXIT, s.GradualExitInput),
}


class EnrolmentViewSet(CaseworkViewSet):
    """Enrolments (what payments read) and their dynamic adjustments."""

    queryset = Enrolment.objects.all()
    read_log_name = "enrolment"
    serializer_class = s.EnrolmentSerializer
    resource = "enrolment"
    filterset_fields = ["status", "category", "household", "review_class"]

    def get_serializer_class(self):
        if self.action != "list":
            return s.EnrolmentDetailSerializer
        return super().get_serializer_class()

    @extend_schema(request=s.ChangeInput, responses={201: s.ChangeRequestSerializer})
    @action(detail=True, methods=["post"], url_path=f"(?P<change>(?:{'|'.join(CHANGES)}))")
    def change(self, request, pk=None, change=None):
        """Propose a dynamic adjustment (停发, 恢复, 增发, 减发, 渐退), its reason and effective
        month: it is made when another user approves it (``/api/change-requests/{id}/approve/``)."""
        kind, input_class = CHANGES[change]
        proposal = changes.propose_change(
            enrolment=self.get_object(), kind=kind, by=request.user, **self.parse(input_class)
        )
        return self.render(proposal, s.ChangeRequestSerializer, status.HTTP_201_CREATED)

    @extend_schema(request=s.ReviewInput, responses={201: s.ReviewSerializer})
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        review = reviews.review_enrolment(
            enrolment=self.get_object(), by=request.user, **self.parse(s.ReviewInput)
        )
        return self.render(review, s.ReviewSerializer, status.HTTP_201_CREATED)

    @extend_schema(responses=s.EnrolmentSerializer(many=True))
    @action(detail=False, methods=["get"], url_path="reviews-due")
    def reviews_due(self, request):
        """Enrolments whose periodic review is due."""
        return self.render_list(selectors.reviews_due(user=request.user), s.EnrolmentSerializer)


class ChangeRequestViewSet(CaseworkViewSet):
    """Proposed changes that move money, waiting for a second person: the approver of the
    region approves or rejects, the proposer may withdraw."""

    queryset = ChangeRequest.objects.select_related("proposed_by", "decided_by")
    serializer_class = s.ChangeRequestSerializer
    resource = "change-request"
    filterset_fields = ["status", "kind", "enrolment"]

    @extend_schema(request=s.ChangeDecisionInput, responses=s.ChangeRequestSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        change = changes.approve_change(
            change=self.get_object(), by=request.user, **self.parse(s.ChangeDecisionInput)
        )
        return self.render(change)

    @extend_schema(request=s.ChangeDecisionInput, responses=s.ChangeRequestSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        change = changes.reject_change(
            change=self.get_object(), by=request.user, **self.parse(s.ChangeDecisionInput)
        )
        return self.render(change)

    @extend_schema(request=None, responses=s.ChangeRequestSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        change = changes.withdraw_change(change=self.get_object(), by=request.user)
        return self.render(change)


class RegistryEventView(APIView):
    """A registry event casework must follow up: parse, call the service, 204."""

    resource = "death"
    input_class: type
    service = None

    def post(self, request):
        serializer = self.input_class(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        type(self).service(by=request.user, **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(request=s.DeathInput, responses={204: None})
class DeathView(RegistryEventView):
    """Record a member's death: their enrolments stop or are recomputed from the next month."""

    input_class = s.DeathInput
    service = registry_events.record_death


@extend_schema(request=s.ConditionInput, responses={204: None})
class ConditionView(RegistryEventView):
    """Record a member's health facts from a month on (a review, a new certificate): every
    computation of a month reads the facts in force then."""

    resource = "member-condition"
    input_class = s.ConditionInput
    service = registry.record_condition


class MemberMoveViewSet(RegistryViewSet):
    """Moves of people between households, visible from either side's subtree. A move is made
    with its casework consequences in one transaction (``registry_events.move_member``)."""

    queryset = MemberMove.objects.select_related("from_member", "to_member", "moved_by")
    serializer_class = registry_serializers.MemberMoveSerializer
    resource = "member-move"
    filterset_class = registry_filters.MemberMoveFilter
    read_log_name = "member_move"
    read_household = "from_member.household"
    http_method_names = ["get", "post", "head", "options"]
    ordering_fields = ["id", "moved_on"]

    def get_queryset(self):
        base = self.queryset.all()
        user = self.request.user
        return scope(base, user=user, field="from_member__household__region_code") | scope(
            base, user=user, field="to_member__household__region_code"
        )

    @extend_schema(
        request=registry_serializers.MemberMoveInput,
        responses={201: registry_serializers.MemberMoveSerializer},
    )
    def create(self, request):
        new_member = registry_events.move_member(
            by=request.user, **self.parse(registry_serializers.MemberMoveInput)
        )
        return self.render(new_member.moved_in, status.HTTP_201_CREATED)


class ReliefViewSet(CaseworkViewSet):
    """Temporary relief (临时救助): proposal, tiered decision, pay-first documents."""

    queryset = ReliefCase.objects.prefetch_related("instalments")
    read_log_name = "relief"
    serializer_class = s.ReliefSerializer
    resource = "relief"
    filterset_fields = ["status", "kind", "cause", "tier", "household"]

    @extend_schema(request=s.ReliefInput, responses={201: s.ReliefSerializer})
    def create(self, request):
        relief = temporary_relief.propose_relief(by=request.user, **self.parse(s.ReliefInput))
        return self.render(relief, code=status.HTTP_201_CREATED)

    @extend_schema(request=s.DecideInput, responses=s.ReliefSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        relief = temporary_relief.decide_relief(
            relief=self.get_object(), by=request.user, **self.parse(s.DecideInput)
        )
        return self.render(relief)

    @extend_schema(request=None, responses=s.ReliefSerializer)
    @action(detail=True, methods=["post"], url_path="documents-complete")
    def documents_complete(self, request, pk=None):
        relief = temporary_relief.complete_relief_documents(
            relief=self.get_object(), by=request.user
        )
        return self.render(relief)

    @extend_schema(responses=s.ReliefSerializer(many=True))
    @action(detail=False, methods=["get"], url_path="documents-overdue")
    def documents_overdue(self, request):
        """Pay-first cases whose documents are late."""
        return self.render_list(selectors.relief_documents_overdue(user=request.user))


class AdjustmentFilter(django_filters.FilterSet):
    region = django_filters.CharFilter(field_name="region_code", lookup_expr="startswith")
    kind = django_filters.MultipleChoiceFilter(choices=Adjustment.Kind.choices)
    month = django_filters.CharFilter(method="filter_month", label="YYYY-MM")
    actor = django_filters.CharFilter(method="filter_actor", label="username")
    household = django_filters.NumberFilter(field_name="enrolment__household")

    class Meta:
        model = Adjustment
        fields = ["region", "kind", "month", "actor", "household", "enrolment"]

    def filter_month(self, queryset, name, value):
        try:
            month = s.MonthField().run_validation(value)
        except ValidationError as error:
            raise ValidationError({"month": error.detail}) from None
        # Still in id order, but by an expression: the planner would otherwise walk the primary
        # key through every earlier month to find this one's rows (adjustment_month_keyset).
        return queryset.filter(
            effective_month__gte=month, effective_month__lt=add_months(month, 1)
        ).order_by(F("id") + 0)

    def filter_actor(self, queryset, name, value):
        return queryset.filter(Q(proposed_by__username=value) | Q(approved_by__username=value))


class AdjustmentViewSet(CaseworkViewSet):
    """The auditor's list of dynamic adjustments: who changed which amount, when, and why.
    Read-only: adjustments are append-only."""

    read_log_name = "adjustment"
    read_household = "enrolment.household"
    serializer_class = s.AdjustmentSerializer
    filterset_class = AdjustmentFilter
    resource = "adjustment"

    # Filters the kept counts (AdjustmentCount) can answer; any other filter counts the list.
    COUNTED_BY = frozenset({"region", "kind", "month"})
    NOT_FILTERS = frozenset({"page", "page_size", "ordering", "format", "lang"})

    def get_queryset(self):
        return selectors.adjustments_for(user=self.request.user)

    def paginate_queryset(self, queryset):
        params = set(self.request.query_params) - self.NOT_FILTERS
        if params <= self.COUNTED_BY and connection.vendor == "postgresql":
            counts = scope(AdjustmentCount.objects.all(), user=self.request.user)
            counts = self.filterset_class(self.request.query_params, queryset=counts).qs
            self.known_count = counts.aggregate(n=Sum("n"))["n"] or 0
        return super().paginate_queryset(queryset)

    def _export(self, content, content_type: str, extension: str) -> HttpResponse:
        response_class = HttpResponse if isinstance(content, bytes) else StreamingHttpResponse
        response = response_class(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="adjustments.{extension}"'
        return response

    def _exported_rows(self, what: str):
        """The filtered adjustments, the export logged as one read with its filter and count."""
        queryset = self.filter_queryset(self.get_queryset())
        log_read(request=self.request, what=what, rows=queryset.count())
        return queryset.iterator(chunk_size=2000)

    @extend_schema(responses={(200, "text/csv"): bytes})
    @action(detail=False, methods=["get"], url_path="export-csv")
    def export_csv(self, request):
        rows = self._exported_rows("adjustments.export_csv")
        return self._export(exports.adjustments_csv(rows), "text/csv; charset=utf-8", "csv")

    @extend_schema(
        responses={
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): bytes
        }
    )
    @action(detail=False, methods=["get"], url_path="export-xlsx")
    def export_xlsx(self, request):
        rows = self._exported_rows("adjustments.export_xlsx")
        return self._export(
            exports.adjustments_xlsx(rows),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        )


class HouseholdTimelineView(APIView):
    """A household's whole story, from the first flag to the last payment line."""

    resource = "timeline"

    @extend_schema(responses=s.TimelineSerializer)
    def get(self, request, household_id: int):
        household = get_object_or_404(
            scope(Household.objects.all(), user=request.user), pk=household_id
        )
        entries = selectors.household_timeline(household=household)
        log_read(request=request, what="household.timeline", household=household)
        return Response(
            s.TimelineSerializer(
                {
                    "household": household.pk,
                    "entries": [
                        {
                            "at": local_time(entry.at),
                            "kind": entry.kind,
                            "summary": entry.summary,
                            "actor": entry.actor,
                            "ref": entry.ref,
                        }
                        for entry in entries
                    ],
                }
            ).data
        )
