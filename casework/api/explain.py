"""GET /api/enrolments/{id}/explain/: why an enrolment gets its amount in a month."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from beneficiaries.models import Member
from casework.facts import explain_enrolment, explain_price_subsidy
from casework.models import Enrolment
from core.exceptions import DomainError
from core.months import format_month
from core.scope import scope
from core.serializers import MonthField
from rules.engine import MissingParameter, Result
from rules.selectors import render_explanation


class ExplainQuery(serializers.Serializer):
    month = MonthField()


@extend_schema(parameters=[ExplainQuery], responses={200: dict})
class ExplainEnrolmentView(APIView):
    """GET /api/enrolments/{id}/explain/?month=YYYY-MM: the amount and the steps behind it, in
    Chinese or (``?lang=en``) English, with the parameters used and the date each took effect."""

    resource = "enrolment-explanation"

    def get(self, request, pk: int):
        query = ExplainQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        month = query.validated_data["month"]
        enrolment = get_object_or_404(scope(Enrolment.objects.all(), user=request.user), pk=pk)
        try:
            result = explain_enrolment(enrolment=enrolment, month=month)
            subsidy = explain_price_subsidy(enrolment=enrolment, month=month)
        except MissingParameter as missing:
            raise DomainError(
                _("该月没有生效的保障标准，无法计算：%(detail)s") % {"detail": missing},
                field="month",
            )
        names = dict(
            Member.objects.filter(pk__in=[m for m, _ in result.members]).values_list("pk", "name")
        )
        return Response(
            {
                "enrolment": enrolment.pk,
                "category": enrolment.category,
                "month": format_month(month),
                **_in_words(result),
                # Steps name members by position ("第2位"): this list says who is who.
                "members": [
                    {
                        "position": position,
                        "member_id": member_id,
                        "name": names.get(member_id, ""),
                        "amount": str(amount),
                    }
                    for position, (member_id, amount) in enumerate(result.members, 1)
                ],
                "price_subsidy": subsidy and _in_words(subsidy),
            }
        )


def _in_words(result: Result) -> dict:
    """The amount, its steps and the parameters they used in the request's language (Chinese;
    English with ``?lang=en`` or ``Accept-Language: en``), the text a caseworker reads, and the
    Standard rows used (``versions``: component → id)."""
    words = render_explanation(
        amount=result.amount, steps=result.explanation(), versions=result.versions
    )
    return {"amount": str(result.amount), **words, "versions": result.versions}
