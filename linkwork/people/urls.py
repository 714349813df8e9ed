from django.urls import path

from . import views

app_name = "people"
urlpatterns = [
    path("", views.child_list, name="child_list"),
    path("<int:pk>/", views.child_detail, name="child_detail"),
    path("<int:pk>/subject-access/", views.subject_access, name="subject_access"),
    path("<int:pk>/erase/", views.erase, name="erase"),
    path("erasures/", views.erasures, name="erasures"),
]
