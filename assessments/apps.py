from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "assessments"
    verbose_name = "Assessments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the Celery tasks in every process, not only in workers.
        from django.contrib.auth.signals import user_logged_in

        from . import tasks  # noqa: F401
        from .services import languages

        user_logged_in.connect(languages.remember_at_login, dispatch_uid="language")
