"""Publish a graded class in the LMS: fill the grade file the instructor downloaded, never touching anything else.

    python -m kit lms moodle --worksheet GRADING_WORKSHEET.csv --out OUT
    python -m kit lms canvas --gradebook GRADEBOOK_EXPORT.csv --assignment "NAME" --out OUT

``sheet`` keeps a CSV file's exact bytes, ``release`` decides what may be published and whose it is, ``moodle`` and
``canvas`` know their system's file, and ``main`` is the command line.
"""
