from django.apps import AppConfig


class EngagementConfig(AppConfig):
    name = "linkwork.engagement"
    label = "engagement"
