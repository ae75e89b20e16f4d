# syntax=docker/dockerfile:1
# Build stage: wheels for the app and its dependencies.
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY rqs ./rqs
COPY assessments ./assessments
RUN pip wheel --wheel-dir /wheels .

# Runtime stage: WeasyPrint's system libraries, a non-root user, gunicorn. The
# data folders exist in the image so that the named volumes mounted on them
# (compose.yaml) take the app user as their owner.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=rqs.settings RQS_DATA_DIR=/var/lib/rqs \
    STATIC_ROOT=/app/staticfiles PORT=8000
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
    libharfbuzz0b libfontconfig1 fonts-dejavu-core curl xmlsec1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 rqs \
 && mkdir -p /var/lib/rqs/media /var/lib/rqs/papers /app \
 && chown -R rqs:rqs /var/lib/rqs /app
COPY --from=build /wheels /wheels
# The app runs from /app; only its dependencies go to site-packages.
RUN pip install --no-cache-dir /wheels/* && pip uninstall -y rqs-platform && rm -rf /wheels
WORKDIR /app
COPY --chown=rqs:rqs manage.py ./
COPY --chown=rqs:rqs rqs ./rqs
COPY --chown=rqs:rqs assessments ./assessments
COPY --chown=rqs:rqs templates ./templates
COPY --chown=rqs:rqs static ./static
# A throwaway key: collectstatic needs settings, never a real secret.
RUN SECRET_KEY=build-only-not-secret python manage.py collectstatic --noinput \
 && chown -R rqs:rqs /app/staticfiles
USER rqs
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:${PORT}/healthz || exit 1
# Threads: a save waits on PostgreSQL longer than it computes (docs/scaling.md).
CMD ["sh", "-c", "gunicorn rqs.wsgi:application --bind 0.0.0.0:${PORT} --workers ${WEB_WORKERS:-2} --threads ${WEB_THREADS:-4} --timeout 60 --access-logfile -"]
