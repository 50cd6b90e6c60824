"""Account URLs that allauth does not provide, named in allauth's style (account_*)."""

from django.urls import path

from . import views

# No app_name: these sit beside allauth's un-namespaced names (account_login, …).
urlpatterns = [
    path("", views.overview, name="account_overview"),
    path("choices/", views.change_choice, name="account_change_choice"),
    path("username/", views.username_reminder, name="account_username_reminder"),
    path("username/sent/", views.username_reminder_done, name="account_username_reminder_done"),
    path("preferences/", views.preferences, name="account_preferences"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="account_unsubscribe"),
    path("data/", views.your_data, name="account_data"),
    path("data/download/", views.your_data_download, name="account_data_download"),
    path("delete/", views.delete_account, name="account_delete"),
]
