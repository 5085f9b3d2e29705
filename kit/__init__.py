"""Instructor tooling for the transfer-learning lab: build, sample data and batch grading."""
import sys

SKIPPED_IMPORTS = ("rfc3987_syntax",)
"""Optional modules no process of the kit needs. jsonschema (under nbformat, so under Otter and nbclient) imports
``rfc3987_syntax`` when it is installed, only to validate IRIs, and that module builds an Earley parser as it is
imported: about 2 s, in every process that reads a notebook (the job's runner, its kernel, its verdict).
Marked absent, jsonschema goes on without that one format check."""

for _name in SKIPPED_IMPORTS:
    sys.modules.setdefault(_name, None)
