"""Account pages allauth lacks: the person's own pages (account), and privacy requests."""
