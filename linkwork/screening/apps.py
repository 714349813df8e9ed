from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "linkwork.screening"
    label = "screening"
