"""Pure domain rules of Jaga: identity (NIK), regions, rates, business calendar, policy.

No I/O here except reading the reference data shipped with the package. Deciders import
these modules directly; each module has one job.
"""
