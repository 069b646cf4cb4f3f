from django.urls import path

from web import registry, tokens, views

app_name = "web"

urlpatterns = [
    path("", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("home/", views.home, name="home"),
    path("tokens/", tokens.my_tokens, name="my_tokens"),
    # The registry (web/registry.py).
    path("households/", registry.household_search, name="household_search"),
    path("households/new/", registry.household_register, name="household_register"),
    path("households/id-check/", registry.id_number_check, name="id_number_check"),
    path("households/<int:pk>/", registry.household, name="household"),
    path("households/<int:pk>/history/", registry.household_changes, name="household_history"),
]
