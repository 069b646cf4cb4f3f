"""The casework pages, under /casework/ (config/urls.py)."""

from django.urls import path

from casework.pages import applications, deadlines, decisions, documents, relief

app_name = "casework"

urlpatterns = [
    path("applications/", applications.application_list, name="applications"),
    path("applications/new/", applications.application_start, name="application-start"),
    path("applications/<int:pk>/", applications.application_detail, name="application"),
    path("applications/<int:pk>/move/", applications.application_move, name="application-move"),
    path(
        "applications/<int:pk>/objections/",
        applications.objection_create,
        name="objection-create",
    ),
    path("objections/<int:pk>/resolve/", applications.objection_resolve, name="objection-resolve"),
    path("attachments/<int:pk>/", applications.attachment, name="attachment"),
    path("applications/<int:pk>/decision.pdf", documents.decision_pdf, name="decision-pdf"),
    path("notices.pdf", documents.notice_pdf, name="notice-pdf"),
    path("flags/", applications.flag_list, name="flags"),
    path("deadlines/", deadlines.overdue, name="deadlines"),
    path("deadlines/this-week/", deadlines.due_this_week, name="deadlines-week"),
    path("reviews-due/", deadlines.reviews, name="reviews-due"),
    path("relief/", relief.relief_list, name="relief-list"),
    path("relief/new/", relief.relief_new, name="relief-new"),
    path("relief/assess/", relief.relief_assess, name="relief-assess"),
    path("relief/<int:pk>/", relief.relief_detail, name="relief"),
    path("relief/<int:pk>/documents/", relief.relief_documents, name="relief-documents"),
    path("flags/<int:pk>/", applications.flag_detail, name="flag"),
    path("decisions/", decisions.decision_list, name="decisions"),
    path(
        "applications/<int:pk>/decision/",
        decisions.application_decision,
        name="application-decision",
    ),
    path("relief/<int:pk>/decision/", decisions.relief_decision, name="relief-decision"),
    path("changes/<int:pk>/decision/", decisions.change_decision, name="change-decision"),
]
