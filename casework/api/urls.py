from django.urls import path

from casework.api import views
from casework.api.explain import ExplainEnrolmentView
from core.routers import Router

router = Router()
router.register("referrals", views.ReferralViewSet, basename="referral")
router.register("applications", views.ApplicationViewSet, basename="application")
router.register("objections", views.ObjectionViewSet, basename="objection")
router.register("enrolments", views.EnrolmentViewSet, basename="enrolment")
router.register("change-requests", views.ChangeRequestViewSet, basename="change-request")
router.register("relief-cases", views.ReliefViewSet, basename="relief")
router.register("adjustments", views.AdjustmentViewSet, basename="adjustment")
router.register("member-moves", views.MemberMoveViewSet, basename="member-move")

urlpatterns = [
    path(
        "enrolments/<int:pk>/explain/",
        ExplainEnrolmentView.as_view(),
        name="enrolment-explain",
    ),
    path("deaths/", views.DeathView.as_view(), name="death"),
    path("conditions/", views.ConditionView.as_view(), name="condition"),
    path(
        "timeline/households/<int:household_id>/",
        views.HouseholdTimelineView.as_view(),
        name="household-timeline",
    ),
    *router.urls,
]
