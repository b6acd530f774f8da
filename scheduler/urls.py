from django.urls import path

from scheduler import views

app_name = "scheduler"

urlpatterns = [
    path("allocations/", views.allocation_list, name="allocation_list"),
    path("allocations.csv", views.allocations_csv, name="allocations_csv"),
    path("allocations/<int:pk>/", views.allocation_detail, name="allocation_detail"),
    path("allocations/<int:pk>/ledger.csv", views.allocation_ledger_csv, name="allocation_ledger_csv"),
    path("pools/", views.pool_list, name="pool_list"),
    path("queue/", views.queue, name="queue"),
    path("queue/<int:pk>/", views.pool_queue, name="pool_queue"),
    path("jobs/", views.job_list, name="job_list"),
    path("jobs/<int:pk>/", views.job_detail, name="job_detail"),
    path("jobs/<int:pk>/cancel/", views.job_cancel, name="job_cancel"),
]
