"""Plumbing every app shares, at the bottom of the layers (it imports no app of the project):
roles and the access rule, region scope, the API and admin building blocks, domain errors,
month and working-day arithmetic, resident IDs."""
