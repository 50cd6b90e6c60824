"""Create a policy version from a Markdown file and publish it (or leave it a draft)."""

from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction

from policy.models import PRIVACY, Document, NewUse, PolicyVersion
from policy.services.versions import version_draft_save, version_publish


def aware_datetime(value: str) -> datetime:
    """Parse an ISO-8601 time that states its zone; a bare local time is ambiguous."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"--effective-at: {value!r} is not an ISO-8601 time") from error
    if moment.tzinfo is None:
        raise CommandError(
            f"--effective-at: {value!r} has no time zone; add one, e.g. 2027-01-01T00:00:00-05:00"
        )
    return moment


def new_use(value: str) -> tuple[str, str]:
    """Parse "NAME: DESCRIPTION"."""
    name, sep, description = value.partition(":")
    if not sep or not name.strip() or not description.strip():
        raise CommandError(f'--new-use: {value!r} is not in the form "NAME: DESCRIPTION"')
    return name.strip(), description.strip()


class Command(BaseCommand):
    help = (
        "Create a new version of a policy from a Markdown file and publish it, printing the new "
        "version number. Nothing is created when anything is wrong."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="Markdown file with the policy text.")
        parser.add_argument("--summary", required=True, help="Plain-language summary of changes.")
        parser.add_argument(
            "--document", default=PRIVACY, help=f"Document slug (default: {PRIVACY})."
        )
        parser.add_argument("--title", help="Version title (default: the document's title).")
        parser.add_argument(
            "--effective-at", type=aware_datetime, help="When it takes effect (ISO-8601 with zone)."
        )
        parser.add_argument("--draft", action="store_true", help="Create a draft; do not publish.")
        parser.add_argument(
            "--material",
            action="store_true",
            help="A material change: people are emailed and asked to review it.",
        )
        parser.add_argument(
            "--new-use",
            action="append",
            default=[],
            type=new_use,
            metavar="NAME: DESCRIPTION",
            help="A new use of data that people must agree to (repeatable; implies --material).",
        )
        parser.add_argument(
            "--override-notice",
            default="",
            metavar="REASON",
            help="Publish a material change with less than POLICY_NOTICE_DAYS notice, and why.",
        )

    def handle(self, *args, **options):
        path: Path = options["file"]
        try:
            body = path.read_text(encoding="utf-8")
        except FileNotFoundError as error:
            raise CommandError(f"{path}: no such file") from error
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"{path}: cannot read it as UTF-8 text ({error})") from error
        if not body.strip():
            raise CommandError(f"{path}: the file is empty")
        if not options["summary"].strip():
            raise CommandError("--summary must not be empty")
        try:
            document = Document.objects.get(slug=options["document"])
        except Document.DoesNotExist as error:
            known = ", ".join(Document.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(
                f"unknown document {options['document']!r} (known: {known})"
            ) from error

        try:
            with transaction.atomic():
                version = version_draft_save(
                    version=PolicyVersion(
                        document=document,
                        title=options["title"] or document.title,
                        body=body,
                        summary=options["summary"],
                        effective_at=options["effective_at"],
                        is_material=options["material"] or bool(options["new_use"]),
                    ),
                    by=None,
                )
                for name, description in options["new_use"]:
                    NewUse.objects.create(version=version, name=name, description=description)
                latest = document.versions.latest_published()
                if not options["draft"] and latest is not None and latest.sha256 == version.sha256:
                    # A pipeline run again with the same file: nothing to publish, nothing made.
                    transaction.set_rollback(True)
                    self.stderr.write(
                        f"{latest} already has this text: nothing published "
                        f"({settings.SITE_URL}{latest.get_absolute_url()})"
                    )
                    self.stdout.write(str(latest.number))
                    return
                if not options["draft"]:
                    version = version_publish(
                        version=version, by=None, override_reason=options["override_notice"]
                    )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        except IntegrityError as error:
            raise CommandError("two --new-use options have the same name") from error

        state = "Saved draft" if options["draft"] else "Published"
        self.stderr.write(f"{state} {version} ({settings.SITE_URL}{version.get_absolute_url()})")
        self.stdout.write(str(version.number))
