"""Two-factor sign-in as a policy: with LINKWORK_REQUIRE_MFA on, a signed-in user who
has not set up an authenticator app can reach only the pages that set one up (and
sign-out) until they have."""

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse

# Pages open to a signed-in user who still has to set up a second factor.
OPEN_URL_NAMES = (
    "mfa_index",
    "mfa_activate_totp",
    "mfa_reauthenticate",
    "mfa_view_recovery_codes",
    "mfa_generate_recovery_codes",
    "mfa_download_recovery_codes",
    "account_logout",
    "account_reauthenticate",
    "account_change_password",
)


class RequireMFAMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._must_set_up(request):
            target = reverse("mfa_activate_totp")
            if getattr(request, "htmx", False):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = target
                return response
            messages.info(
                request,
                "This zone requires two-factor sign-in: set up an authenticator app to go on.",
            )
            return redirect(target)
        return self.get_response(request)

    def _must_set_up(self, request) -> bool:
        if not getattr(settings, "LINKWORK_REQUIRE_MFA", False):
            return False
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        if request.path.startswith(settings.STATIC_URL):
            return False
        try:
            if resolve(request.path_info).url_name in OPEN_URL_NAMES:
                return False
        except Resolver404:
            return False  # the page does not exist; let it 404 as usual
        return not is_mfa_enabled(user, types=["totp"])
