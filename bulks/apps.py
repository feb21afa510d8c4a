from django.apps import AppConfig


class BulksConfig(AppConfig):
    name = "bulks"
