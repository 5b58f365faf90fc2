"""Callback verification (电话回访): pure planning and grading in `planning` / `grading`;
the database models, service, API and pages live in the sibling modules."""
