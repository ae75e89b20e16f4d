"""Settings, read from environment variables only (each one is in .env.example).

Embedded default: SQLite and a broker-less Celery (kombu's filesystem transport)
under ``RQS_DATA_DIR``; ``DATABASE_URL`` and ``CELERY_BROKER_URL`` switch to
PostgreSQL and Redis.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from rqs.storage import object_storages


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [v.strip() for v in os.environ.get(name, default).split(",") if v.strip()]


BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("RQS_DATA_DIR", BASE_DIR / "var")).resolve()
# pytest (>= 8.2) exports PYTEST_VERSION; tests run with DEBUG off like production.
TESTING = "PYTEST_VERSION" in os.environ

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (see .env.example), "
            "or set DEBUG=1 for local development."
        )
    SECRET_KEY = "insecure-" + secrets.token_urlsafe(40)

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG or TESTING else ""
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "template_partials",
    "simple_history",
    "axes",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "assessments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After the session, before anything that writes words a person reads.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "assessments.middleware.UserLanguage",
    "assessments.middleware.LoginRequired",
    "assessments.middleware.SlidingSession",
    "assessments.middleware.RejectNulCharacters",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Axes must come last so it sees the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "rqs.urls"
WSGI_APPLICATION = "rqs.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]

DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'rqs.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        # A connection dropped between requests is replaced, not reused.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the embedded worker and the web process write without locking
    # each other out; IMMEDIATE avoids SQLITE_BUSY on lock upgrades.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
# DATABASE_POOLING=transaction behind PgBouncer's transaction pooling (said
# explicitly, not guessed from the port): a server connection serves another
# client after each transaction, so nothing may outlive one. Django's
# server-side cursors (QuerySet.iterator() declares WITH HOLD cursors) are off;
# the app holds no other session state (no SET, advisory locks, LISTEN or
# prepared statements; PgBouncer carries TimeZone and client_encoding over).
# CONN_MAX_AGE then keeps the connection to PgBouncer, which holds no server
# connection between transactions.
DATABASE_POOLING = os.environ.get("DATABASE_POOLING", "").strip().lower() or "session"
if DATABASE_POOLING not in {"session", "transaction"}:
    raise ImproperlyConfigured("DATABASE_POOLING must be 'session' or 'transaction'.")
if DATABASE_POOLING == "transaction":
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation." + name}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
if TESTING:
    # Hashing strength is not what the tests measure; speed is what CI needs.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "login"
# A reviewer with open work lands on their worklist, everyone else on the projects.
LOGIN_REDIRECT_URL = "landing"
LOGOUT_REDIRECT_URL = "login"

# A working day, sliding with activity.
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(9 * 3600)))
# Slid by assessments.middleware.SlidingSession (at most one write a minute).
SESSION_SAVE_EVERY_REQUEST = False

# Login throttling: lock the username+IP pair, not the IP alone (hospital NAT).
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# JSON for the assessment form's re-login dialog, the page for everyone else.
AXES_LOCKOUT_CALLABLE = "assessments.views.errors.lockout_response"
# Reverse proxies in front of the app. With N, the client is the N-th address
# from the right of X-Forwarded-For (each proxy appends who connected to it);
# with 0 the header is ignored. Behind a proxy the address that gets locked is
# otherwise the proxy's, shared by every user.
PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "assessments.views.errors.client_ip"

# The interface in English, Dutch and German. Anonymous pages follow the
# browser's Accept-Language (or the chooser's cookie); a signed-in person's
# choice is kept with their account and follows them to every device
# (assessments.middleware.UserLanguage).
LANGUAGE_CODE = "en-gb"
LANGUAGES = [("en-gb", "English"), ("nl", "Nederlands"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Amsterdam")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", DATA_DIR / "media"))
# Full texts of studies: private, outside MEDIA_ROOT, with no URL of their own;
# they reach a browser only through the access-checked paper view.
PAPERS_ROOT = Path(os.environ.get("PAPERS_ROOT", DATA_DIR / "papers"))
# Object storage (S3 or compatible) for every process's files when set, e.g.
# s3://rqs-files?endpoint_url=http://127.0.0.1:9000&region=eu-west-1 (the
# format is in rqs/storage.py); unset: the folders above.
# Not a setting of its own: it may hold the bucket's credentials.
_storage_url = os.environ.get("STORAGE_URL", "")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "papers": {
        "BACKEND": "rqs.storage.PrivateFileSystemStorage",
        "OPTIONS": {"location": str(PAPERS_ROOT)},
    },
    **(object_storages(_storage_url) if _storage_url else {}),
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

WHITENOISE_USE_FINDERS = DEBUG or TESTING
FORMS_URLFIELD_ASSUME_HTTPS = True

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# HTTPS-only by default; HTTPS_ONLY=0 for plain HTTP on a laptop or a local load
# test. Tests run on plain HTTP too unless a test turns it on.
HTTPS_ONLY = env_bool("HTTPS_ONLY", not TESTING)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = HTTPS_ONLY
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_HSTS_SECONDS = (
    int(os.environ.get("HSTS_SECONDS", "31536000")) if HTTPS_ONLY else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS_ONLY
SECURE_HSTS_PRELOAD = HTTPS_ONLY
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# No inline scripts or styles anywhere: htmx is configured through a meta tag,
# charts are SVG images, and progress is shown with <progress>.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "rqs@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where people open the platform; links in notification e-mails start with it.
SITE_URL = os.environ.get("SITE_URL", "http://localhost:8000")

# Celery. Saving answers never needs the broker; reports and dashboard
# refreshes do.
# Tests without a configured broker run tasks in-process; with Redis they use
# a real worker.
CELERY_TASK_ALWAYS_EAGER = env_bool(
    "CELERY_TASK_ALWAYS_EAGER", TESTING and not os.environ.get("CELERY_BROKER_URL")
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "") or "filesystem://"
BROKER_KIND = (
    "eager"
    if CELERY_TASK_ALWAYS_EAGER
    else "embedded"
    if CELERY_BROKER_URL.startswith("filesystem")
    else "redis"
)
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "900"))
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
# Redelivery of an unacknowledged task must never cut off a job still running.
CELERY_VISIBILITY_TIMEOUT = int(
    os.environ.get("CELERY_VISIBILITY_TIMEOUT", str(2 * CELERY_TASK_TIME_LIMIT))
)
if CELERY_BROKER_URL.startswith("filesystem"):
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Broadcast (remote control) files, kept out of the working directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = os.environ.get(
        "CELERY_RESULT_BACKEND", f"file://{DATA_DIR / 'results'}"
    )
    (DATA_DIR / "results").mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
    CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT
    }
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "celery")
# Report rendering and paper text extraction go to a queue of their own so a
# burst of PDFs never delays a dashboard refresh (assessments/queue.py routes
# by task name). Unset, it follows CELERY_QUEUE: `reports` beside `celery`,
# `<CELERY_QUEUE>-reports` beside any other. Workers name their queues with -Q.
CELERY_REPORTS_QUEUE = os.environ.get("CELERY_REPORTS_QUEUE", "")
CELERY_TASK_ROUTES = ["assessments.queue.route"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One task at a time per process: with acks_late, a prefetched PDF would wait
# behind a running one. Report workers also say --prefetch-multiplier 1.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A request that enqueues while the broker is down fails fast with a message.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "sweep": {"task": "assessments.tasks.sweep_task", "schedule": 60.0},
}

# `make bench` routes a baseline endpoint; never set in production.
BENCH_ENDPOINTS = env_bool("BENCH_ENDPOINTS", False)

# Study and score imports: a bigger upload is refused before its body is read
# (a 47 MB RIS file once held a request thread for a minute and 730 MB).
UPLOAD_MAX_BYTES = int(float(os.environ.get("UPLOAD_MAX_MB", "20")) * 1024 * 1024)
# Papers have their own limit: full texts with figures are large.
PAPER_MAX_BYTES = int(float(os.environ.get("PAPER_MAX_MB", "100")) * 1024 * 1024)
FILE_UPLOAD_HANDLERS = [
    "assessments.views.uploads.UploadLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Throttling counts in the cache: set CACHE_URL to Redis when several web
# processes serve the API, or each process counts on its own.
CACHE_URL = os.environ.get("CACHE_URL", "")
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
        }
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# The REST API (/api/v1/): personal access tokens or the browser's session
# (with CSRF), per-token throttling, cursor pagination, JSON only.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "assessments.api.auth.TokenAuthentication",
        "assessments.api.auth.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["assessments.api.auth.TokenScope"],
    "DEFAULT_THROTTLE_CLASSES": ["assessments.api.auth.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": os.environ.get("API_THROTTLE", "600/min")},
    "DEFAULT_PAGINATION_CLASS": "assessments.api.pagination.Cursor",
    "PAGE_SIZE": 100,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "assessments.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "RQS platform API",
    "DESCRIPTION": (
        "Projects, studies, assessments with their answers and evidence, "
        "consensus, agreement and dashboard figures, reports and exports. "
        "Authenticate with `Authorization: Bearer <token>` (a personal access "
        "token from Account, API tokens). Who sees what follows the same "
        "roles and blinding as the pages."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The document and its pages are for logged-in users and token holders.
    "SERVE_PERMISSIONS": ["assessments.api.auth.TokenScope"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "weasyprint.progress": {"level": "WARNING"},
    },
}

# --- Institutional sign-in: OpenID Connect (OIDC_*, see .env.example) ---------
# On when the issuer and the client's credentials are all set. Accounts are
# found by issuer and `sub` only (assessments/services/identity.py).
OIDC_ISSUER = os.environ.get("OIDC_ISSUER", "").strip()
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID", "").strip()
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET", "").strip()
OIDC_ENABLED = bool(OIDC_ISSUER and OIDC_RP_CLIENT_ID and OIDC_RP_CLIENT_SECRET)
OIDC_BUTTON_LABEL = (
    os.environ.get("OIDC_BUTTON_LABEL", "").strip() or "Sign in with your institution"
)
# Empty: taken from the issuer's discovery document (fetched on first use).
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("OIDC_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("OIDC_TOKEN_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = os.environ.get("OIDC_JWKS_URI", "")
OIDC_OP_USER_ENDPOINT = os.environ.get("OIDC_USER_ENDPOINT", "")
OIDC_OP_END_SESSION_ENDPOINT = os.environ.get("OIDC_END_SESSION_ENDPOINT", "")
if OIDC_ENABLED:
    INSTALLED_APPS.append("mozilla_django_oidc")
    # Appended: axes' backend stays first and still guards the password form.
    AUTHENTICATION_BACKENDS.append("assessments.views.signin_oidc.InstitutionBackend")
    TEMPLATES[0]["OPTIONS"]["context_processors"].append(  # type: ignore[index]
        "assessments.views.signin_oidc.login_page"
    )
    OIDC_RP_SCOPES = os.environ.get("OIDC_SCOPES", "").strip() or "openid email profile"
    OIDC_RP_SIGN_ALGO = "RS256"
    OIDC_USE_NONCE = True
    OIDC_USE_PKCE = True
    OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
    # Kept for the provider's logout (id_token_hint); no SessionRefresh
    # middleware: our own sliding session decides how long a login lasts.
    OIDC_STORE_ID_TOKEN = True
    OIDC_TIMEOUT = 10
    OIDC_AUTHENTICATE_CLASS = "assessments.views.signin_oidc.Authenticate"
    OIDC_CALLBACK_CLASS = "assessments.views.signin_oidc.Callback"
    OIDC_OP_LOGOUT_URL_METHOD = "assessments.views.signin_oidc.provider_logout_url"

# --- Institutional sign-in: SAML 2.0 (SAML_*, see .env.example) ---------------
# On when the IdP's metadata (a URL or a file) is set. Accounts are found by the
# IdP's entity ID and the persistent NameID or SAML_ID_ATTRIBUTE only
# (assessments/views/signin_saml.py, assessments/services/identity.py).


def saml_settings(environ: dict[str, str], site_url: str) -> dict[str, object]:
    """The SAML_* settings for this environment; empty when SAML is off.

    A function so the tests can switch SAML on with override_settings."""
    metadata_url = environ.get("SAML_IDP_METADATA_URL", "").strip()
    metadata_file = environ.get("SAML_IDP_METADATA_FILE", "").strip()
    if not (metadata_url or metadata_file):
        return {}
    root = site_url.rstrip("/")
    key_file = environ.get("SAML_SP_KEY_FILE", "").strip()
    cert_file = environ.get("SAML_SP_CERT_FILE", "").strip()
    if bool(key_file) != bool(cert_file):
        raise ImproperlyConfigured("Set both SAML_SP_KEY_FILE and SAML_SP_CERT_FILE.")
    id_attribute = environ.get("SAML_ID_ATTRIBUTE", "").strip()
    metadata: dict[str, object] = {}
    if metadata_url:
        remote = {"url": metadata_url}
        if cert := environ.get("SAML_IDP_METADATA_CERT_FILE", "").strip():
            remote["cert"] = cert  # the federation's signature on its metadata
        metadata["remote"] = [remote]
    if metadata_file:
        metadata["local"] = [metadata_file]
    redirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
    post = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    sp: dict[str, object] = {
        "name": "RQS platform",
        "endpoints": {
            "assertion_consumer_service": [(f"{root}/saml2/acs/", post)],
            "single_logout_service": [
                (f"{root}/saml2/ls/", redirect),
                (f"{root}/saml2/ls/post/", post),
            ],
        },
        # The assertion carries who the person is: its signature is required.
        # The Response's may be absent (SURFconext signs the assertion); the
        # ACS view checks the two name the same IdP.
        "want_assertions_signed": True,
        "want_response_signed": False,
        # Only answers to a request this browser made; a replay finds its
        # request already used.
        "allow_unsolicited": False,
        "authn_requests_signed": bool(key_file),
        "logout_requests_signed": bool(key_file),
        "want_assertions_or_response_signed": True,
        "required_attributes": [],
    }
    if not id_attribute:
        # Without an identifying attribute the NameID is the identity, so it
        # must be the persistent one (a transient NameID is refused).
        persistent = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
        sp["name_id_format"] = [persistent]  # in our metadata
        sp["name_id_policy_format"] = persistent  # in each AuthnRequest
        sp["name_id_format_allow_create"] = True
    config: dict[str, object] = {
        "xmlsec_binary": environ.get("SAML_XMLSEC_BINARY", "").strip()
        or "/usr/bin/xmlsec1",
        "entityid": environ.get("SAML_SP_ENTITY_ID", "").strip()
        or f"{root}/saml2/metadata/",
        "allow_unknown_attributes": True,
        "service": {"sp": sp},
        "metadata": metadata,
        # Seconds of clock difference tolerated between the IdP and us.
        "accepted_time_diff": 60,
        "debug": False,
    }
    if key_file:
        config["key_file"] = key_file
        config["cert_file"] = cert_file
        config["encryption_keypairs"] = [{"key_file": key_file, "cert_file": cert_file}]

    def names(variable: str, default: str) -> list[str]:
        given = environ.get(variable, "").strip() or default
        return [v.strip() for v in given.split(",") if v.strip()]

    return {
        "SAML_ENABLED": True,
        "SAML_CONFIG": config,
        "SAML_CONFIG_LOADER": "assessments.views.signin_saml.load_config",
        "SAML_ID_ATTRIBUTE": id_attribute,
        "SAML_EMAIL_ATTRIBUTES": names(
            "SAML_EMAIL_ATTRIBUTE", "urn:oid:0.9.2342.19200300.100.1.3,mail"
        ),
        "SAML_FIRST_NAME_ATTRIBUTES": names(
            "SAML_FIRST_NAME_ATTRIBUTE", "urn:oid:2.5.4.42,givenName"
        ),
        "SAML_LAST_NAME_ATTRIBUTES": names(
            "SAML_LAST_NAME_ATTRIBUTE", "urn:oid:2.5.4.4,sn"
        ),
        "SAML_BUTTON_LABEL": environ.get("SAML_BUTTON_LABEL", "").strip()
        or "Sign in through SURFconext / your institution",
        # Our backend reads the attributes itself; djangosaml2 maps none.
        "SAML_ATTRIBUTE_MAPPING": {},
        "SAML_CREATE_UNKNOWN_USER": True,
        "SAML_ACS_FAILURE_RESPONSE_FUNCTION": (
            "assessments.views.signin_saml.acs_failed"
        ),
        # A redirect, not an auto-submitted form: no script, and the CSP's
        # form-action stays 'self'.
        "SAML_DEFAULT_BINDING": redirect,
        "SAML_IGNORE_LOGOUT_ERRORS": True,
        # The outstanding requests live in a cookie of their own (djangosaml2's
        # SamlSessionMiddleware) with SameSite=None, because the IdP's POST to
        # the ACS comes from another site; the login session's cookie keeps
        # its SameSite=Lax.
        "SAML_SESSION_COOKIE_NAME": "saml_session",
        "SAML_SESSION_COOKIE_SAMESITE": "None",
    }


_saml = saml_settings(dict(os.environ), SITE_URL)
SAML_ENABLED = bool(_saml)
if SAML_ENABLED:
    globals().update(_saml)
    INSTALLED_APPS.append("djangosaml2")
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware") + 1,
        "djangosaml2.middleware.SamlSessionMiddleware",
    )
    # Last, so the logout form's CSRF token has been checked before it acts.
    MIDDLEWARE.append("assessments.views.signin_saml.SingleLogout")
    # Appended: axes' backend stays first and still guards the password form.
    AUTHENTICATION_BACKENDS.append(
        "assessments.views.signin_saml.InstitutionSaml2Backend"
    )
    TEMPLATES[0]["OPTIONS"]["context_processors"].append(  # type: ignore[index]
        "assessments.views.signin_saml.saml_signin"
    )

# --- Two-factor for local accounts (see .env.example) -------------------------
INSTALLED_APPS += [
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
]
# OTPMiddleware reads the verified device from the session that
# AuthenticationMiddleware has just restored, so it must follow it directly;
# the gate after it keeps a password-only or not-yet-enrolled session on the
# two-factor pages.
_auth_at = MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware")
MIDDLEWARE[_auth_at + 1 : _auth_at + 1] = [
    "django_otp.middleware.OTPMiddleware",
    "assessments.views.two_factor.TwoFactorGate",
]
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "") or "RQS platform"
# The admin may delete a device (a lost phone) but never show its secret, not
# even to staff who may view devices.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# After the n-th wrong code in a row the next one is refused for
# factor * 2^(n-1) seconds: django-otp's throttling, which 0 would switch
# off, hence at least 1.
_throttle = int(os.environ.get("TWO_FACTOR_THROTTLE_SECONDS", "1") or "1")
if _throttle < 1:
    raise ImproperlyConfigured("TWO_FACTOR_THROTTLE_SECONDS must be 1 or more.")
OTP_TOTP_THROTTLE_FACTOR = _throttle
OTP_STATIC_THROTTLE_FACTOR = _throttle
# Who must use two-factor: "staff" (staff and superusers), "leads" (anyone who
# leads a project), both ("staff,leads", or 1/true/all); unset, nobody.
_required = [v.lower() for v in env_list("TWO_FACTOR_REQUIRED")]
if any(v in {"1", "true", "yes", "on", "all"} for v in _required):
    _required = ["staff", "leads"]
elif set(_required) - {"0", "false", "no", "off", "staff", "leads"}:
    raise ImproperlyConfigured(
        "TWO_FACTOR_REQUIRED takes 'staff', 'leads', 'staff,leads' or 1/0."
    )
TWO_FACTOR_REQUIRED_FOR = sorted(set(_required) & {"staff", "leads"})
