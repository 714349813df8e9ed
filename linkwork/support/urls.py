from django.urls import path

from . import views

app_name = "support"
urlpatterns = [
    path("caseload/", views.caseload, name="caseload"),
    path("children/<int:pk>/", views.child_support, name="child"),
    path("children/<int:pk>/interaction/", views.interaction_new, name="interaction_new"),
    path("children/<int:pk>/follow-up/", views.follow_up_new, name="follow_up_new"),
    path("children/<int:pk>/plan/", views.plan_edit, name="plan_edit"),
    path("children/<int:pk>/plan/history/", views.plan_history, name="plan_history"),
    path("children/<int:pk>/plan/goals/", views.goal_add, name="goal_add"),
    path("children/<int:pk>/plan/review/", views.review_record, name="review_record"),
    path("children/<int:pk>/allocate/", views.allocate, name="allocate"),
    path("goals/<int:pk>/", views.goal_update, name="goal_update"),
    path("allocations/<int:pk>/end/", views.allocation_end, name="allocation_end"),
    path("allocations/<int:pk>/cancel/", views.allocation_cancel, name="allocation_cancel"),
    path("follow-ups/", views.follow_ups, name="follow_ups"),
    path("follow-ups/<int:pk>/complete/", views.follow_up_complete, name="follow_up_complete"),
    path("follow-ups/<int:pk>/assign/", views.follow_up_assign, name="follow_up_assign"),
    path("services/", views.catalogue, name="catalogue"),
    path("services/<int:pk>/", views.service_edit, name="service_edit"),
    path("services/new/", views.service_new, name="service_new"),
    path("partners/new/", views.partner_new, name="partner_new"),
    path("sessions/", views.sessions, name="sessions"),
    path("sessions/upload/", views.register_upload, name="register_upload"),
    path("sessions/<int:service_pk>/sheets/", views.register_sheets, name="register_sheets"),
    path("sessions/<int:service_pk>/<str:date>/", views.register, name="register"),
    path(
        "sessions/<int:service_pk>/<str:date>/sheet/",
        views.register_sheet,
        name="register_sheet",
    ),
    path(
        "sessions/<int:service_pk>/<str:date>/cancel/",
        views.register_cancel,
        name="register_cancel",
    ),
]
