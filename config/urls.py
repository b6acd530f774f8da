"""URL map: each app mounts its own urls module."""

from django.contrib import admin
from django.urls import include, path

from portal.views.health import healthz
from reproducibility.urls import check_pages

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("portal.api.urls")),
    path("quota/", include("scheduler.urls")),
    path("runs/", include("scheduler.artifacts.urls")),
    path("reproducibility/", include("reproducibility.urls")),
    path("checks/", include(check_pages)),
    path("", include("portal.urls")),
]
