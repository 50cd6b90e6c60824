"""Account URLs that allauth does not provide, named in allauth's style (account_*)."""

from django.urls import path

from .views import account as views
from .views import requests

# No app_name: these sit beside allauth's un-namespaced names (account_login, …).
urlpatterns = [
    path("", views.overview, name="account_overview"),
    path("choices/", views.change_choice, name="account_change_choice"),
    path("confirm-email/again/", views.resend_confirmation, name="account_resend_confirmation"),
    path("username/", views.username_reminder, name="account_username_reminder"),
    path("username/sent/", views.username_reminder_done, name="account_username_reminder_done"),
    path("preferences/", views.preferences, name="account_preferences"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="account_unsubscribe"),
    path("data/", views.your_data, name="account_data"),
    path("data/download/", views.your_data_download, name="account_data_download"),
    path("delete/", views.delete_account, name="account_delete"),
]

# Served under /privacy/request/ (see pamedspa/urls.py): privacy requests need no account.
privacy_request_patterns = [
    path("", requests.privacy_request, name="privacy_request"),
    path("sent/", requests.privacy_request_sent, name="privacy_request_sent"),
    path("verified/", requests.privacy_request_verified, name="privacy_request_verified"),
    path("verify/<str:token>/", requests.privacy_request_verify, name="privacy_request_verify"),
    path(
        "download/<str:token>/",
        requests.privacy_request_download,
        name="privacy_request_download",
    ),
]
