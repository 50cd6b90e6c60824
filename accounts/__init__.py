"""The accounts app: registration, login, password and username recovery, the privacy center."""
