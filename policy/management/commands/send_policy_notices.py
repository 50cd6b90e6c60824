"""Make the notices a published material version still lacks, then send every due notice (of
policy changes and breaches) with a progress bar. Safe to run from cron beside the workers."""

from django.core.management.base import BaseCommand

from policy.delivery.outbox import fanouts_finish, notices_deliver, notices_recover_interrupted
from policy.models import Notice


class ProgressBar:
    """A one-line text progress bar, redrawn in place on a terminal, every 100 otherwise."""

    def __init__(self, total: int, stream, width: int = 30):
        self.total, self.stream, self.width, self.done = max(total, 1), stream, width, 0
        self.tty = stream.isatty()
        self.counts: dict[str, int] = {}

    def __call__(self, outcome: str) -> None:
        self.done += 1
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        if self.tty or self.done == self.total or self.done % 100 == 0:
            self.draw()

    def draw(self) -> None:
        filled = int(self.width * min(self.done, self.total) / self.total)
        counts = ", ".join(f"{n} {name}" for name, n in sorted(self.counts.items()))
        end = "\r" if self.tty and self.done < self.total else "\n"
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"[{bar}] {self.done}/{self.total} {counts}", ending=end)
        self.stream.flush()


class Command(BaseCommand):
    help = "Send the pending notices of policy changes and breaches, showing progress."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, help="Stop after this many notices.")

    def handle(self, *args, limit=None, **options):
        created = fanouts_finish()
        if created:
            self.stdout.write(f"Created {created} notices that no worker had made.")
        interrupted = notices_recover_interrupted()
        if interrupted:
            self.stdout.write(
                f"{interrupted} notices were interrupted while sending: marked failed, since "
                "they may have arrived (see the admin to send them again)."
            )
        due = Notice.objects.due().count()
        total = min(due, limit) if limit else due
        if not total:
            self.stdout.write("No notices are due.")
            return
        progress = ProgressBar(total, self.stderr) if options["verbosity"] else None
        report = notices_deliver(limit=limit, progress=progress)
        self.stdout.write(
            f"Sent {report.sent}; {report.retrying} will be retried; {report.failed} failed."
        )
        for error in report.errors[:20]:
            self.stderr.write(f"  {error}")
