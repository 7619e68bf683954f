"""The workflow models: abstract (``workflow``), derived graph (``graph``), concrete."""
