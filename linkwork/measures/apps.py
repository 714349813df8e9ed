from django.apps import AppConfig


class MeasuresConfig(AppConfig):
    name = "linkwork.measures"
    label = "measures"
