"""Readers and writers of pose files, one module per format."""
