"""Sign-ins and sign-outs go in the audit trail, as the data protection officer expects.

Django announces them only through its authentication signals, so these receivers are
the one place the audit trail listens rather than being called by a service.
"""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .services import record


@receiver(user_logged_in, dispatch_uid="audit_signed_in")
def signed_in(sender, request, user, **kwargs):
    record(actor=user, action="account.signed_in", obj=user, summary=_where(request))


@receiver(user_logged_out, dispatch_uid="audit_signed_out")
def signed_out(sender, request, user, **kwargs):
    if user is not None:
        record(actor=user, action="account.signed_out", obj=user, summary=_where(request))


@receiver(user_login_failed, dispatch_uid="audit_sign_in_failed")
def sign_in_failed(sender, credentials, request=None, **kwargs):
    # Django already masks secrets in `credentials`; keep only the name that was tried.
    tried = str(credentials.get("email") or credentials.get("username") or "")[:200]
    record(
        actor=None,
        action="account.sign_in_failed",
        summary=f"{tried} {_where(request)}".strip(),
    )


def _where(request) -> str:
    if request is None:
        return ""
    return f"from {request.META.get('REMOTE_ADDR', 'unknown address')}"
