"""The chat server's benchmark: `python -m bench --help`, `make bench`.

It starts what it measures (our server under daphne, and two references on the
same daphne), fills the database through our own services, drives every server
with the same load generator and writes a report. docs/performance.md explains
the scenarios, the counting and the latest figures.
"""
