"""Notice delivery: the outbox that sends each notice at most once, and the mail it sends.

- outbox: create notices in bulk, claim and send them one at a time, retry, recover, requeue;
- messages: what a notice's email says, and handing it to the mail server.

Workflows that decide to send (publishing a material change, sending a breach notice) live
in `policy.services`; they create notices here and queue `policy.tasks` to deliver them.
"""
