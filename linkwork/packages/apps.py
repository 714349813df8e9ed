from django.apps import AppConfig


class PackagesConfig(AppConfig):
    name = "linkwork.packages"
    label = "packages"
