from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "assessments"
    verbose_name = "Assessments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the Celery tasks in every process, not only in workers.
        from django.contrib.auth.signals import user_logged_in
        from django.utils import formats

        from . import (
            tasks,  # noqa: F401
            words,
        )
        from .services import languages

        user_logged_in.connect(languages.remember_at_login, dispatch_uid="language")
        # Numbers in the floor's sentences take the reader's decimal sign.
        words.use_decimal_sign(lambda: str(formats.get_format("DECIMAL_SEPARATOR")))
