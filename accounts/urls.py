"""Account URLs that allauth does not provide, named in allauth's style (account_*)."""

from django.urls import path

from . import views

# No app_name: these sit beside allauth's un-namespaced names (account_login, …).
urlpatterns = [
    path("", views.overview, name="account_overview"),
    path("username/", views.username_reminder, name="account_username_reminder"),
    path("username/sent/", views.username_reminder_done, name="account_username_reminder_done"),
]
