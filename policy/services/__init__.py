"""Write workflows of the policy app, one module per concern.

- versions: numbering drafts, copying a version into a new draft, publishing;
- ledger: recording acceptances, and a review's answers about new uses;
- incidents: sending a breach notice to the audience staff chose;
- notices: requeueing failed notices and queueing their delivery;
- mailings: sending topic mail to the list members staff confirmed;
- inbox: receiving a contact message and telling the privacy team.

Each function is `<noun>_<verb>(*, ...)`. Sending mail is `policy.delivery`'s job.
"""
