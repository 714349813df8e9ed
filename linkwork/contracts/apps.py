from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "linkwork.contracts"
    label = "contracts"
