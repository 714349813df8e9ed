"""The base for every admin page: writes through the admin are audited like any other."""

from django.contrib import admin

from linkwork.audit.services import record

# Form fields whose values never go into the audit trail.
SECRET_FIELDS = {"password", "password1", "password2", "usable_password"}


def _plain(value):
    if hasattr(value, "all") and hasattr(value, "model"):
        return sorted(str(item) for item in value.all())
    if isinstance(value, (list, tuple, set)):
        return [str(item) for item in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def form_changes(form) -> dict:
    """The changed fields of an admin form as {field: new value}, secrets left out."""
    if form is None:
        return {}
    return {
        name: "(changed)" if name in SECRET_FIELDS else _plain(form.cleaned_data.get(name))
        for name in form.changed_data
    }


class AuditedModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose saves and deletes each append one audit entry."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        label = obj._meta.model_name
        record(
            actor=request.user,
            action=f"admin.{label}.{'changed' if change else 'added'}",
            obj=obj,
            summary=f"{obj._meta.verbose_name} {obj} {'changed' if change else 'added'} in admin",
            changes=form_changes(form),
        )

    def delete_model(self, request, obj):
        summary = f"{obj._meta.verbose_name} {obj} deleted in admin"
        label = obj._meta.model_name
        pk = obj.pk
        super().delete_model(request, obj)
        obj.pk = pk
        record(actor=request.user, action=f"admin.{label}.deleted", obj=obj, summary=summary)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)
