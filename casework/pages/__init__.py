"""The township caseworker's casework pages: applications from start to "sent to approval", the
printed public notice and decision letter, temporary relief and the deadlines.

Each view is thin: a Django form parses, the casework service the API calls acts, a template
renders. A domain error is shown beside its field, or above the form when it belongs to none
(a move the state machine refuses says why). Pages are opened through ``core.pages.page`` and
read through the region scope, so a record outside the user's subtree is a 404.
"""
