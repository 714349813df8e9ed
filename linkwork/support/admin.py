from django.contrib import admin

from linkwork.core.admin import AuditedModelAdmin

from .models import Partner, Service


@admin.register(Partner)
class PartnerAdmin(AuditedModelAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]


@admin.register(Service)
class ServiceAdmin(AuditedModelAdmin):
    list_display = ["name", "code", "partner", "school", "weekday", "starts_at", "capacity"]
    list_filter = ["partner", "school"]
    search_fields = ["name", "code"]
    list_select_related = ["partner", "school"]
