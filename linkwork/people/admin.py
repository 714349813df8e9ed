from django.contrib import admin

from linkwork.core.admin import AuditedModelAdmin

from .models import Cohort

# Only reference data is edited in the admin; children's records change through services.


@admin.register(Cohort)
class CohortAdmin(AuditedModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]
