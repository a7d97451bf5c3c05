"""Datasets on disk: the DEAM loader and the embedded demo generator (no models here)."""
