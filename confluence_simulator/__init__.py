"""A Confluence simulator: a deterministic in-memory site served over real HTTP in Cloud or Data Center flavour.

It exists so the ETL can be tested end to end (paging, permissions, deletions, attachments, faults) without a
real Confluence. Import the submodules you need; this package module stays import-light on purpose.
"""
