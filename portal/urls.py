"""The portal's pages. Each area keeps its routes in its own list, joined here."""

from django.urls import path

from portal.views import accounts
from portal.views import applications as application_views
from portal.views import award_requests as award_request_views
from portal.views import calls as call_views
from portal.views import invitations as invitation_views
from portal.views import program as program_views
from portal.views import progress_reports as report_views
from portal.views import projects as project_views
from portal.views import public_pages as public_views
from portal.views import renewals as renewal_views
from portal.views import repository_changes as repository_views
from portal.views import reviews as review_views
from portal.views import tranches as tranche_views
from portal.views import usage as usage_views
from portal.views import verification as verification_views

app_name = "portal"

urlpatterns = [
    path("", accounts.home, name="home"),
    path("signup/", accounts.sign_up, name="signup"),
]

# The applicant's pages: projects, open calls, applications.
applicant_routes = [
    path("projects/", project_views.project_list, name="project_list"),
    path("projects/new/", project_views.project_create, name="project_create"),
    path("projects/<int:pk>/", project_views.project_detail, name="project_detail"),
    path("projects/<int:pk>/edit/", project_views.project_edit, name="project_edit"),
    path("projects/<int:pk>/repository/", repository_views.project_repository, name="project_repository"),
    path("repository-changes/<int:pk>/", repository_views.repository_change, name="repository_change"),
    path("projects/<int:pk>/members/", invitation_views.project_members, name="project_members"),
    path(
        "projects/<int:pk>/members/<int:user_pk>/remove/", invitation_views.member_remove, name="project_member_remove"
    ),
    path("projects/<int:pk>/leave/", invitation_views.project_leave, name="project_leave"),
    path(
        "projects/<int:pk>/invitations/<int:invitation_pk>/revoke/",
        invitation_views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("calls/open/", application_views.open_calls, name="open_calls"),
    path("calls/<int:pk>/apply/", application_views.apply, name="apply"),
    path("applications/<int:pk>/", application_views.application_detail, name="application_detail"),
    path("applications/<int:pk>/edit/", application_views.application_edit, name="application_edit"),
    path("applications/<int:pk>/submit/", application_views.application_submit, name="application_submit"),
    path("applications/<int:pk>/withdraw/", application_views.application_withdraw, name="application_withdraw"),
    path("applications/<int:pk>/verify/", verification_views.application_verify, name="application_verify"),
    path(
        "applications/<int:pk>/reproducibility/",
        application_views.application_reproducibility,
        name="application_reproducibility",
    ),
]
urlpatterns += applicant_routes

# Anyone signed in may be invited to a project: the invitee's pages (emails link to invitation_detail).
invitee_routes = [
    path("invitations/", invitation_views.invitation_list, name="invitation_list"),
    path("invitations/<str:token>/", invitation_views.invitation_detail, name="invitation_detail"),
    path("invitations/<str:token>/accept/", invitation_views.invitation_accept, name="invitation_accept"),
    path("invitations/<str:token>/decline/", invitation_views.invitation_decline, name="invitation_decline"),
]
urlpatterns += invitee_routes

# The reviewer's pages: the queue and the review page (notification emails link to portal:review).
reviewer_routes = [
    path("reviews/", review_views.review_queue, name="review_queue"),
    path("reviews/<int:pk>/", review_views.review, name="review"),
    path("reviews/<int:pk>/decline/", review_views.review_decline, name="review_decline"),
    path("reviews/<int:pk>/conflict/", review_views.review_conflict, name="review_conflict"),
]
urlpatterns += reviewer_routes

# The maintainer's pages: calls, a call's ranking and decisions, reviewers, the audit log.
maintainer_routes = [
    path("manage/calls/", call_views.call_list, name="call_list"),
    path("manage/calls/new/", call_views.call_create, name="call_create"),
    path("manage/calls/<int:pk>/", call_views.call_dashboard, name="call_dashboard"),
    path("manage/calls/<int:pk>/edit/", call_views.call_edit, name="call_edit"),
    path("manage/calls/<int:pk>/close/", call_views.call_close, name="call_close"),
    path("manage/calls/<int:pk>/audit/", call_views.call_audit, name="call_audit"),
    path("manage/calls/<int:pk>/verification/", verification_views.call_verification, name="call_verification"),
    path("manage/applications/<int:pk>/", call_views.application_reviews, name="application_reviews"),
    path("manage/applications/<int:pk>/decide/", call_views.application_decide, name="application_decide"),
    path("manage/applications/<int:pk>/assign/", call_views.application_assign, name="application_assign"),
    path("manage/repository-changes/", repository_views.repository_change_list, name="repository_change_list"),
    path(
        "manage/repository-changes/<int:pk>/decide/",
        repository_views.repository_change_decide,
        name="repository_change_decide",
    ),
]
urlpatterns += maintainer_routes

# After the award (issue 17): the grant's life on its allocation.
award_routes = [
    path(
        "manage/allocations/<int:pk>/release-tranche/",
        tranche_views.allocation_release_tranche,
        name="allocation_release_tranche",
    ),
    path("allocations/<int:pk>/reports/", report_views.allocation_reports, name="allocation_reports"),
    path("reports/<int:pk>/", report_views.report_detail, name="report_detail"),
    path("manage/reports/<int:pk>/decide/", report_views.report_decide, name="report_decide"),
    path("allocations/<int:pk>/requests/", award_request_views.allocation_requests, name="allocation_requests"),
    path("allocations/<int:pk>/renew/", renewal_views.allocation_renew, name="allocation_renew"),
    path("allocations/<int:pk>/usage/", usage_views.allocation_usage, name="allocation_usage"),
    path("p/<int:pk>/", public_views.public_project_page, name="public_project"),
    path("p/<int:pk>/sponsored.svg", public_views.sponsored_badge, name="sponsored_badge"),
    path("projects/<int:pk>/public-page/", public_views.project_public_page_switch, name="project_public_page"),
    path("manage/allocations/<int:pk>/reclaim/", usage_views.allocation_reclaim, name="allocation_reclaim"),
    path("manage/allocations/<int:pk>/revoke/", usage_views.allocation_revoke, name="allocation_revoke"),
    path("manage/program/", program_views.program_view, name="program_view"),
    path("manage/program/hours.csv", program_views.program_hours_csv, name="program_hours_csv"),
    path("manage/program/decisions.csv", program_views.program_decisions_csv, name="program_decisions_csv"),
    path("manage/program/reviewers.csv", program_views.program_reviewers_csv, name="program_reviewers_csv"),
    path(
        "manage/award-requests/<int:pk>/decide/", award_request_views.award_request_decide, name="award_request_decide"
    ),
]
urlpatterns += award_routes
