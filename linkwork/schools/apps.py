from django.apps import AppConfig


class SchoolsConfig(AppConfig):
    name = "linkwork.schools"
    label = "schools"
