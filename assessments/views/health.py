"""Health checks: readiness asks the database (and the broker on request);
liveness asks only the process."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def _broker_ok() -> bool:
    if settings.BROKER_KIND == "eager":
        return True
    if settings.BROKER_KIND == "embedded":
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        return Path(str(options["data_folder_in"])).is_dir()
    try:
        # A fresh connection: a pooled one could hide a broker that just died.
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the database answers; ?broker=1 also requires the broker."""
    database = _database_ok()
    body: dict[str, Any] = {
        "database": "ok" if database else "unavailable",
        "broker": {"kind": settings.BROKER_KIND},
    }
    healthy = database
    if request.GET.get("broker") == "1":
        broker = _broker_ok()
        body["broker"]["state"] = "ok" if broker else "unavailable"
        healthy = healthy and broker
    body["status"] = "ok" if healthy else "unavailable"
    return JsonResponse(body, status=200 if healthy else 503)


@login_not_required
@never_cache
@require_GET
def livez(request: HttpRequest) -> JsonResponse:
    """200 while this process answers requests; touches no database or broker.

    The liveness probe: a database outage must take pods out of the Service
    (readiness, /healthz), not restart every web process at once.
    """
    return JsonResponse({"status": "ok"})
