from django.urls import path

from scheduler.artifacts import views

app_name = "runs"

urlpatterns = [
    path("compare/", views.compare, name="compare"),
    path("<int:job_id>/", views.run_detail, name="detail"),
    path("<int:job_id>/panel/", views.run_panel, name="panel"),
    path("<int:job_id>/scalars.json", views.run_scalars, name="scalars"),
    path("<int:job_id>/download/<str:kind>.tar.gz", views.download, name="download"),
    path("<int:job_id>/tensorboard/", views.tensorboard, name="tensorboard"),
    path("<int:job_id>/tensorboard", views.tensorboard, name="tensorboard-bare"),
    path("<int:job_id>/tensorboard/<path:subpath>", views.tensorboard, name="tensorboard-path"),
]
