from django.urls import path

from . import views

app_name = "contracts"
urlpatterns = [
    path("", views.contract_list, name="contract_list"),
    path("upload/", views.contract_upload, name="contract_upload"),
    path("children/<int:pk>/achievements/", views.child_achievements, name="child_achievements"),
    path("<str:code>/", views.contract_detail, name="contract_detail"),
    path("<str:code>/claims/<str:period>/", views.claim_detail, name="claim_detail"),
    path("<str:code>/claims/<str:period>/run/", views.claim_run, name="claim_run"),
    path("<str:code>/claims/<str:period>/submit/", views.claim_submit, name="claim_submit"),
    path("<str:code>/claims/<str:period>/paid/", views.claim_paid, name="claim_paid"),
    path(
        "<str:code>/claims/<str:period>/evidence.csv", views.claim_evidence, name="claim_evidence"
    ),
    path(
        "<str:code>/claims/<str:period>/statement/<str:payer>/<str:fmt>/",
        views.claim_statement,
        name="claim_statement",
    ),
]
