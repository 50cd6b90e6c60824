"""allauth's authentication backend, with the same cost whatever was typed.

allauth passes a login that looks like an email address as both `email` and `username`, and its
backend then checks a known address's password twice, where an unknown address costs one
stand-in hash. So a wrong password for a known address took three hashes (with Django's
ModelBackend, which tried the address as a username) against two for an unknown one: a timing
leak that tells which addresses have accounts. This backend checks each address once per
attempt, and the project uses it alone, so every attempt costs exactly one password hash:
known or unknown, email or username. (allauth's backend is a ModelBackend: permissions work.)
"""

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend


class AuthenticationBackend(AllauthBackend):
    def authenticate(self, request, **credentials):
        self._by_email = {}  # Django makes a backend object per call: no sharing between requests
        return super().authenticate(request, **credentials)

    def _authenticate_by_email(self, email: str, password: str):
        key = email.lower()
        if key not in self._by_email:
            self._by_email[key] = super()._authenticate_by_email(email, password)
        return self._by_email[key]
