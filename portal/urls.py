from django.urls import path

from portal.views import accounts

app_name = "portal"

urlpatterns = [
    path("", accounts.home, name="home"),
    path("signup/", accounts.sign_up, name="signup"),
]
