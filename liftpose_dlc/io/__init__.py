"""Readers and writers: one module per format, each ending in (or starting from) Poses."""
