"""The grid worker's pages, under /grid/ (``casework.pages_grid``)."""

from django.urls import path

from casework import pages_grid

app_name = "grid"

urlpatterns = [
    path("flags/", pages_grid.flag_list, name="flags"),
    path("flags/new/", pages_grid.flag_new, name="flag-new"),
    path("flags/<int:pk>/", pages_grid.flag_detail, name="flag"),
    path("flags/<int:pk>/photo/", pages_grid.flag_photo, name="flag-photo"),
]
