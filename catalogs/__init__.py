"""Replica and transformation catalogs: frozen models and one loader module per format."""
