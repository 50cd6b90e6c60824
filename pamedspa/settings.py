"""Settings for pamedspa: one module, driven by environment variables (see .env.example)."""

import sys
from email.utils import formataddr, getaddresses
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Local overrides live in .env (`make run` writes one with DJANGO_DEBUG=on); real environment
# variables win. DJANGO_ENV_FILE names another file, or "" for none (tests use that).
_env_file = env.str("DJANGO_ENV_FILE", default=str(BASE_DIR / ".env"))
if _env_file and Path(_env_file).is_file():
    env.read_env(_env_file)

# Django

DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        sys.exit(
            "pamedspa: refusing to start: set DJANGO_SECRET_KEY "
            "(or DJANGO_DEBUG=on for local development only)."
        )
    # Debug only (see above), so bandit's hardcoded-password warning does not apply.
    SECRET_KEY = "django-insecure-local-development-only"  # nosec B105

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "policy",
    "accounts",
    "accounts.apps.SecureAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "csp",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "pamedspa.middleware.ContentSecurityPolicyMiddleware",
    "pamedspa.middleware.RequestBodyMiddleware",
    # Kept policy pages for visitors without a session, before the layers they do not need.
    "policy.middleware.KeptPageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "pamedspa.middleware.PersonalPagesMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.UserSessionsMiddleware",
    "accounts.middleware.GlobalPrivacyControlMiddleware",
    "accounts.middleware.EmailDeliveryFailedMiddleware",
    # Last: one transaction around each view that may write (ATOMIC_REQUESTS, for writes only).
    "pamedspa.middleware.AtomicWritesMiddleware",
]

ROOT_URLCONF = "pamedspa.urls"
WSGI_APPLICATION = "pamedspa.wsgi.application"

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
                "policy.context_processors.site",
            ],
        },
    },
]
# Django's form renderer, with plain <input> widgets written out in Python (pamedspa/forms.py).
FORM_RENDERER = "pamedspa.forms.FormRenderer"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "America/New_York"
USE_I18N = True
USE_TZ = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SITE_NAME = "New Image MedSpa"

# Database

DATABASES = {
    "default": environ.Env.db_url_config(
        env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    ),
}
# A request that may write runs in one transaction, so a failure halfway leaves nothing
# half-made; a read runs in none (pamedspa.middleware.AtomicWritesMiddleware does what
# ATOMIC_REQUESTS would, for writes only).
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Connections persist between requests, checked before reuse; fail fast when unreachable.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers and a writer work at once and makes commits cheap; IMMEDIATE takes the
    # write lock up front, so concurrent writers wait instead of failing with "locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault(
        "connect_timeout", env.int("DJANGO_DB_CONNECT_TIMEOUT", default=3)
    )

# Cache and sessions

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Shared by every machine. While Redis is away, each process answers from its own memory
    # (see pamedspa/cache.py): pages keep working, rate limits count per process meanwhile.
    CACHES = {
        "default": {
            "BACKEND": "pamedspa.cache.FailoverRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "pamedspa",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    # Shared by every process on this machine (gunicorn's workers, db_worker, commands), so
    # rate limits hold exactly and a publish shows on the next request. Entries are pickles:
    # the folder must be writable by the site's user only (a deploy check says so).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": env.str("DJANGO_CACHE_DIR", default=str(BASE_DIR / ".cache")),
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Authentication

# One backend, one password hash per login attempt whatever was typed (see accounts/backends.py).
# Django's ModelBackend is left out on purpose: allauth's backend logs in by username too, and
# the admin's login goes through allauth.
AUTHENTICATION_BACKENDS = ["accounts.backends.AuthenticationBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "account_overview"
# Password reset links expire after an hour (and die once used: the password hash changes).
PASSWORD_RESET_TIMEOUT = 60 * 60

# django-allauth

ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_FORMS = {  # nosec B105 (form classes, not passwords)
    "signup": "accounts.forms.SignupForm",
    "login": "accounts.forms.LoginForm",
    "reset_password_from_key": "accounts.forms.ResetPasswordKeyForm",
}
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*", "password2*"]
ACCOUNT_USERNAME_MIN_LENGTH = 3
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
# Signup, reset and username reminders answer alike whether or not an account exists.
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = True
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 1
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_SESSION_REMEMBER = None  # ask: "Remember me"
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
# Counted in the default cache, which every process shares (one machine: a folder; many: Redis).
# (Rates, not passwords: bandit reads "password" in two of the names.)
ACCOUNT_RATE_LIMITS = {  # nosec B105
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/300s/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "username_reminder": "20/m/ip,5/m/key",
    "contact": "5/m/ip,20/h/ip",
    "privacy_request": "5/m/ip,20/h/ip,3/h/key",
}
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("ALLAUTH_TRUSTED_PROXY_COUNT", default=0)
MFA_ADAPTER = "accounts.adapters.MFAAdapter"
# Passkeys (WebAuthn): as a second factor, and "Sign in with a passkey" with no password. Browsers
# allow them on https:// and on http://localhost only (development), never on a bare IP address.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_FORMS = {
    "authenticate": "accounts.forms.MFAAuthenticateForm",
    "reauthenticate": "accounts.forms.MFAReauthenticateForm",
    "activate_totp": "accounts.forms.ActivateTOTPForm",
}
MFA_TOTP_ISSUER = SITE_NAME
USERSESSIONS_TRACK_ACTIVITY = True
# Staff must set up two-factor authentication before they can use the admin.
STAFF_MFA_REQUIRED = env.bool("DJANGO_STAFF_MFA_REQUIRED", default=not DEBUG)

# Policy caching: each document's token (which version is current, until when) lives in the
# shared cache and is deleted when a publish commits; every process keeps pages under it.
POLICY_CACHE_SECONDS = env.int("POLICY_CACHE_SECONDS", default=300)

# Policy notices

# A material change must be published this many days before it takes effect.
POLICY_NOTICE_DAYS = env.int("POLICY_NOTICE_DAYS", default=30)
# After a version takes effect, every page says so for this many days.
POLICY_CHANGED_NOTICE_DAYS = env.int("POLICY_CHANGED_NOTICE_DAYS", default=30)
# Notices are sent in batches; each delivery task handles at most this many.
POLICY_NOTICE_BATCH_SIZE = env.int("POLICY_NOTICE_BATCH_SIZE", default=500)
# Absolute links in mail sent outside a request (background tasks, commands). `make run` and
# `make serve` set it to the address they serve; production must set it (a deploy check says so).
SITE_URL = env.str("DJANGO_SITE_URL", default="http://127.0.0.1:8000" if DEBUG else "").rstrip("/")

# Background tasks (django-tasks): run at once by default; "database" queues them for
# `manage.py db_worker` (django-tasks-db).
TASKS = {
    "default": {
        "BACKEND": {
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
            "database": "django_tasks_db.DatabaseBackend",
        }[env.str("DJANGO_TASKS_BACKEND", default="immediate")]
    }
}

# Security

HTTPS = env.bool("DJANGO_HTTPS", default=not DEBUG)
# Links in allauth's mail (confirm, reset) follow the scheme the site is served with.
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if HTTPS else "http"
if env.str("DJANGO_SECURE_PROXY_SSL_HEADER", default=""):
    # e.g. "HTTP_X_FORWARDED_PROTO=https", set only when a trusted proxy terminates TLS.
    _header, _, _value = env.str("DJANGO_SECURE_PROXY_SSL_HEADER").partition("=")
    SECURE_PROXY_SSL_HEADER = (_header, _value or "https")

SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
# Preloading asks browsers to use HTTPS before the first visit; needs every subdomain on HTTPS.
SECURE_HSTS_PRELOAD = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# The __Host- prefix pins a cookie to this host, path / and HTTPS; browsers refuse it over HTTP.
SESSION_COOKIE_NAME = "__Host-sessionid" if HTTPS else "sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken" if HTTPS else "csrftoken"
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        # Same-origin fetches only (auditors such as Lighthouse read /robots.txt this way).
        "connect-src": [SELF],
        "form-action": [SELF],
        "manifest-src": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}

# Static files

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "pamedspa.storage.StaticFilesStorage"
        ),
    },
}
# favicon.ico and robots.txt live at the site root.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"

# Email

_email_url = env.str("EMAIL_URL", default="consolemail://")
_email = environ.Env.email_url_config(_email_url)
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
if urlsplit(_email_url).scheme == "smtps":
    # django-environ reads smtps:// as STARTTLS; smtps means TLS from the first byte (port 465).
    EMAIL_USE_TLS, EMAIL_USE_SSL = False, True
    EMAIL_PORT = _email.get("EMAIL_PORT") or 465
if urlsplit(_email_url).scheme == "filemail":
    # django-environ drops the leading "/" of the path; keep "filemail:///abs/folder" absolute.
    EMAIL_FILE_PATH = "/" + urlsplit(_email_url).path.lstrip("/")
EMAIL_TIMEOUT = 10
# The address the privacy policy gives for comments; contact-form messages go there too, and
# replies to notices.
PRIVACY_CONTACT_EMAIL = env.str("PRIVACY_CONTACT_EMAIL", default="privacy@pamedspa.biz")
# The biggest request body the site reads: public forms are small; staff may attach a file of
# up to 5 MB to an answer in the admin. Anything bigger gets 413 before it is read.
REQUEST_BODY_MAX_BYTES = env.int("REQUEST_BODY_MAX_BYTES", default=256 * 1024)
ADMIN_REQUEST_BODY_MAX_BYTES = env.int("ADMIN_REQUEST_BODY_MAX_BYTES", default=6 * 1024 * 1024)
# Days staff have to answer a verified privacy request (GDPR Art. 12(3): one month).
PRIVACY_REQUEST_DAYS = env.int("PRIVACY_REQUEST_DAYS", default=30)


def _with_site_name(address: str) -> str:
    """`address` with the site's name to show, unless it names a sender of its own."""
    return address if "<" in address else formataddr((SITE_NAME, address))


# Account mail (confirmations, resets, security notices).
DEFAULT_FROM_EMAIL = _with_site_name(
    env.str("DJANGO_DEFAULT_FROM_EMAIL", default="privacy@pamedspa.biz")
)
# Notices and topic mail: a sender nobody reads, so out-of-office replies do not flood the
# privacy inbox; they carry Reply-To: PRIVACY_CONTACT_EMAIL for people who do answer.
NOTICE_FROM_EMAIL = _with_site_name(
    env.str(
        "DJANGO_NOTICE_FROM_EMAIL",
        default=f"no-reply@{urlsplit(SITE_URL).hostname or 'pamedspa.biz'}",
    )
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Logging and errors

# Who hears about server errors by mail: "Name <address>, address" (one mail per kind of error
# every 5 minutes at most). SERVER_EMAIL (the From) is DEFAULT_FROM_EMAIL.
ADMINS = [
    (name or address, address)
    for name, address in getaddresses([env.str("DJANGO_ADMINS", default="")])
    if address
]
EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {
            "()": "pamedspa.logs.OneLineFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    "filters": {
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
        "once_per_5_minutes": {"()": "pamedspa.logs.RateLimitFilter", "seconds": 300},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "line",
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false", "once_per_5_minutes"],
        },
    },
    "root": {
        "handlers": ["console", "mail_admins"],
        "level": env.str("DJANGO_LOG_LEVEL", default="INFO"),
    },
    # Django's own loggers report through the root's handlers (its default would mail
    # every error, unthrottled).
    "loggers": {"django": {"handlers": [], "level": "INFO", "propagate": True}},
}

# Sentry, only when SENTRY_DSN is set: errors, their stack and route, and no personal data:
# no addresses, cookies, user names, request bodies, local variables or log breadcrumbs.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk

    from pamedspa.logs import sentry_before_send

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        max_breadcrumbs=0,
        before_send=sentry_before_send,
        traces_sample_rate=0,
    )
