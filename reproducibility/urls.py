from django.urls import path

from reproducibility import views

app_name = "reproducibility"

urlpatterns = [
    path("snapshots/<int:pk>/", views.report, name="report"),
    path("snapshots/<int:pk>/badge.svg", views.badge, name="badge"),
]
