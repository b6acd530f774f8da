"""The API's routes: /api/v1/ (the resources and the token), /api/schema/ and /api/docs/."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from portal.api import award_views, views
from portal.api.docs import api_docs
from portal.api.tokens import TokenView


class Router(DefaultRouter):
    include_format_suffixes = False  # one URL per resource: the format comes from the Accept header


router = Router(use_regex_path=False)
router.register("calls", views.CallViewSet, basename="call")
router.register("projects", views.ProjectViewSet, basename="project")
router.register("invitations", views.InvitationViewSet, basename="invitation")
router.register("applications", views.ApplicationViewSet, basename="application")
router.register("snapshots", views.SnapshotViewSet, basename="snapshot")
router.register("allocations", views.AllocationViewSet, basename="allocation")
router.register("jobs", views.JobViewSet, basename="job")
router.register("reports", award_views.ProgressReportViewSet, basename="report")
router.register("award-requests", award_views.AwardRequestViewSet, basename="award-request")

app_name = "api"

urlpatterns = [
    path("v1/token/", TokenView.as_view(), name="token"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", api_docs, name="docs"),
]
