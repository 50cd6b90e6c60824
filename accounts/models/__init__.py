"""Account records beside allauth's: preferences and their ledger, erasures, privacy requests."""

from .erasure import Erasure, ErasureMethod
from .preferences import PreferenceChange, PreferenceMethod, Subscription, Topic, TopicQuerySet
from .requests import PrivacyRequest, PrivacyRequestEvent

__all__ = [
    "Erasure",
    "ErasureMethod",
    "PreferenceChange",
    "PreferenceMethod",
    "PrivacyRequest",
    "PrivacyRequestEvent",
    "Subscription",
    "Topic",
    "TopicQuerySet",
]
