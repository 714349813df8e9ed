from django.contrib import admin

from linkwork.core.admin import AuditedModelAdmin

from .models import Area, School


@admin.register(Area)
class AreaAdmin(AuditedModelAdmin):
    list_display = ["name", "la_code"]
    search_fields = ["name", "la_code"]


@admin.register(School)
class SchoolAdmin(AuditedModelAdmin):
    list_display = ["name", "urn", "phase", "area"]
    list_filter = ["phase", "area"]
    search_fields = ["name", "urn"]
    list_select_related = ["area"]
