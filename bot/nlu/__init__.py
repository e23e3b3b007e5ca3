"""Custom Rasa NLU components for the Minato FAQ assistant (referenced by dotted path in config.yml)."""
