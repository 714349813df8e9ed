from django.contrib import admin
from django.urls import include, path

from linkwork.accounts import views as account_views

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("allauth.urls")),
    path("children/", include("linkwork.people.urls")),
    path("support/", include("linkwork.support.urls")),
    path("engagement/", include("linkwork.engagement.urls")),
    path("screening/", include("linkwork.screening.urls")),
    path("instruments/", include("linkwork.measures.urls")),
    path("contracts/", include("linkwork.contracts.urls")),
    path("outcomes/", include("linkwork.outcomes.urls")),
    path("audit/", include("linkwork.audit.urls")),
    path("admin/", admin.site.urls),
]
