from django.urls import path

from web import views

app_name = "web"

urlpatterns = [
    path("", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("home/", views.home, name="home"),
]
