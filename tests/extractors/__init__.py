"""Tests of extractors/: rules, dates, scoring and the floors on the annotated corpora."""
