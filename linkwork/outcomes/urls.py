from django.urls import path

from . import views

app_name = "outcomes"
urlpatterns = [
    path("", views.report, name="report"),
]
