from django.apps import AppConfig


class PaperVenueConfig(AppConfig):
    name = "exchanges.paper"
    label = "exchanges_paper"
    verbose_name = "Paper venue"
    default_auto_field = "django.db.models.BigAutoField"
