from django.urls import path

from . import views

app_name = "screening"
urlpatterns = [
    path("", views.round_list, name="round_list"),
    path("run/", views.run, name="run"),
    path("rules/", views.rules, name="rules"),
    path("rounds/<int:pk>/", views.round_detail, name="round_detail"),
    path("rounds/<int:pk>/review/", views.review, name="review"),
    path("rounds/<int:pk>/delete/", views.round_delete, name="round_delete"),
    path("children/<int:pk>/consent/", views.consent, name="consent"),
    path("children/<int:pk>/enrol/", views.enrol, name="enrol"),
    path("consents/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("uploads/", views.upload, name="upload"),
    path("uploads/<int:pk>/", views.upload_detail, name="upload_detail"),
    path("uploads/<int:pk>/status/", views.upload_status, name="upload_status"),
    path("uploads/<int:pk>/load/", views.upload_load, name="upload_load"),
]
