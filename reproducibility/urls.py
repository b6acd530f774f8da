from django.urls import path

from reproducibility import views

app_name = "reproducibility"

urlpatterns = [
    path("snapshots/<int:pk>/", views.report, name="report"),
    path("snapshots/<int:pk>/rescore/", views.rescore, name="rescore"),
    path("snapshots/<int:pk>/badge.svg", views.badge, name="badge"),
    path("snapshots/<int:pk>/badge/publish/", views.badge_publish, name="badge_publish"),
    path("badges/<slug:token>.svg", views.badge_by_token, name="badge_by_token"),
]

# The checks' documentation, mounted at /checks/ by config/urls.py (namespace "checks").
check_pages = (
    [
        path("", views.check_index, name="index"),
        path("<slug:check_id>/", views.check_detail, name="detail"),
    ],
    "checks",
)
