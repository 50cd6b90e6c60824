"""Django's createsuperuser, with the new account's address recorded as verified and primary.

Logins need a verified address (ACCOUNT_EMAIL_VERIFICATION is mandatory). A superuser made on
the command line would otherwise wait for a confirmation email before the admin opens, which
a machine with no mail server never sends. Whoever runs this command controls the server, so
the address they typed is trusted.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.management.commands import createsuperuser
from django.db.models.signals import post_save

from accounts.services.people import email_address_trust


class Command(createsuperuser.Command):
    help = createsuperuser.Command.help + " Its email address is recorded as verified."

    def handle(self, *args, **options):
        made = []

        def remember(sender, instance, created: bool, **kwargs) -> None:
            if created:
                made.append(instance)

        user_model = get_user_model()
        post_save.connect(remember, sender=user_model, weak=False)
        try:
            super().handle(*args, **options)
        finally:
            post_save.disconnect(remember, sender=user_model)
        for user in made:
            if email_address_trust(user=user) is None:
                self.stderr.write(
                    f"{user.get_username()} has no email address, so it cannot sign in. Run "
                    "createsuperuser again with an email address."
                )
            elif options["verbosity"] >= 1:
                self.stdout.write(f"Email address {user.email} recorded as verified.")
