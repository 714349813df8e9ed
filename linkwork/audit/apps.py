from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "linkwork.audit"
    label = "audit"

    def ready(self):
        from . import receivers  # noqa: F401 - connects the sign-in receivers
