"""Instructor tooling for the transfer-learning lab: build, sample data and batch grading."""
