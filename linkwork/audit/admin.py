from django.contrib import admin

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit trail, read-only: entries are never added, changed or deleted by hand."""

    list_display = [
        "at",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "pupil_id",
        "summary",
    ]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "action", "object_id", "summary"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
