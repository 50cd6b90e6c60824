"""Account workflows allauth lacks: what a person does (people), and privacy requests."""
