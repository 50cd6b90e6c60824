"""The policy app's views, one module per audience.

- public: the policy pages and feeds anyone reads;
- review: where a signed-in person reviews a material change;
- contact: the form that writes to the privacy team;
- staff: the multi-step admin actions (publish, new draft, send a breach notice).
"""
