from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from linkwork.core.admin import AuditedModelAdmin

from .models import User


def admin_login(request, extra_context=None):
    """The admin signs in through Linkwork's own sign-in (with two-factor), never its own
    form; a signed-in user who is not staff is refused."""
    if request.user.is_authenticated:
        raise PermissionDenied("Only staff may use the administration pages.")
    return redirect_to_login(
        request.GET.get("next") or reverse("admin:index"), reverse("account_login")
    )


admin.site.login = admin_login
admin.site.site_header = "Linkwork administration"
admin.site.site_title = "Linkwork administration"


class UserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email", "name", "role")


class UserEditForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User


@admin.register(User)
class UserAdmin(AuditedModelAdmin, DjangoUserAdmin):
    """Users with their role and scope: schools for Link Workers and school staff, a
    partner for partner staff, a payer code for funders."""

    form = UserEditForm
    add_form = UserCreationForm
    list_display = ["email", "name", "role", "partner", "payer_code", "is_active", "is_staff"]
    list_filter = ["role", "is_active", "is_staff", "schools"]
    search_fields = ["email", "name"]
    ordering = ["email"]
    filter_horizontal = ["schools", "groups", "user_permissions"]
    list_select_related = ["partner"]
    fieldsets = [
        (None, {"fields": ["email", "name", "password"]}),
        ("Role and scope", {"fields": ["role", "schools", "partner", "payer_code"]}),
        (
            "Access",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "name", "role", "usable_password", "password1", "password2"],
            },
        ),
    ]
    readonly_fields = ["last_login", "date_joined"]
