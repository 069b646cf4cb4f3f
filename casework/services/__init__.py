"""Casework writes, one module per concern: enrolments and their adjustments, registry events
(deaths, moves), referrals, applications and objections, temporary relief, periodic reviews."""
