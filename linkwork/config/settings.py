"""Linkwork's one settings module, driven by environment variables.

Unset, everything has a safe local default: an SQLite database and a generated secret
key in a per-user data folder (LINKWORK_DATA_DIR overrides it).
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from platformdirs import user_data_dir

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DATA_DIR = Path(os.environ.get("LINKWORK_DATA_DIR") or user_data_dir("linkwork", appauthor=False))


def _secret_key() -> str:
    key = os.environ.get("LINKWORK_SECRET_KEY")
    if key:
        return key
    # A key generated once per installation and kept beside the embedded database.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_flag("LINKWORK_DEBUG")
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("LINKWORK_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("LINKWORK_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

# Behind HTTPS in production: secure cookies, HSTS and redirects.
HTTPS = env_flag("LINKWORK_HTTPS")
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SESSION_COOKIE_HTTPONLY = True

# Every signed-in user must set up two-factor sign-in before seeing anything else; on by
# default behind HTTPS (production), off for the local demo unless asked for.
LINKWORK_REQUIRE_MFA = env_flag("LINKWORK_REQUIRE_MFA", default=HTTPS)

# Aggregate reports show counts below this as "<N", so no child can be singled out.
LINKWORK_SUPPRESS_BELOW = int(os.environ.get("LINKWORK_SUPPRESS_BELOW", "5"))
# Years after a contract ends that its payment evidence is kept (the audit period), also
# for children whose other data has been erased.
LINKWORK_PAYMENT_EVIDENCE_YEARS = int(os.environ.get("LINKWORK_PAYMENT_EVIDENCE_YEARS", "6"))
# The retention schedule (see docs/data-protection.md): months after the newest data about
# a pupil never enrolled, years after a child's last enrolment ended, days an uploaded
# file is kept once its upload has finished.
LINKWORK_RETAIN_NOT_ENROLLED_MONTHS = int(
    os.environ.get("LINKWORK_RETAIN_NOT_ENROLLED_MONTHS", "18")
)
LINKWORK_RETAIN_AFTER_ENROLMENT_YEARS = int(
    os.environ.get("LINKWORK_RETAIN_AFTER_ENROLMENT_YEARS", "3")
)
LINKWORK_RETAIN_UPLOADS_DAYS = int(os.environ.get("LINKWORK_RETAIN_UPLOADS_DAYS", "30"))
SESSION_COOKIE_AGE = 8 * 60 * 60
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    "linkwork.core",
    "linkwork.accounts",
    "linkwork.audit",
    "linkwork.schools",
    "linkwork.people",
    "linkwork.measures",
    "linkwork.support",
    "linkwork.screening",
    "linkwork.engagement",
    "linkwork.outcomes",
    "linkwork.contracts",
    "linkwork.packages",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "linkwork.accounts.middleware.RequireMFAMiddleware",
    "linkwork.core.middleware.MethodNotAllowedPage",
]

ROOT_URLCONF = "linkwork.config.urls"
WSGI_APPLICATION = "linkwork.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "linkwork.accounts.context_processors.navigation",
            ],
        },
    },
]


def _database() -> dict:
    url = os.environ.get("DATABASE_URL")
    if url:
        config = dj_database_url.parse(url, conn_max_age=60)
    else:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        config = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "linkwork.sqlite3"),
        }
    if config["ENGINE"].endswith("sqlite3"):
        # WAL lets the task worker and the web server share the file; IMMEDIATE
        # transactions avoid "database is locked" on upgrade from read to write.
        config.setdefault("OPTIONS", {}).update(
            {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            }
        )
        config.pop("CONN_MAX_AGE", None)
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_ADAPTER = "linkwork.accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Linkwork"

TASKS = {
    "default": {
        "BACKEND": os.environ.get("LINKWORK_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

EMAIL_BACKEND = os.environ.get(
    "LINKWORK_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("LINKWORK_FROM_EMAIL", "linkwork@localhost")

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("LINKWORK_STATIC_ROOT") or DATA_DIR / "static")
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(os.environ.get("LINKWORK_MEDIA_ROOT") or DATA_DIR / "uploads")
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LINKWORK_LOG_LEVEL", "WARNING")},
}
