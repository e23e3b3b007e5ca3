"""The Minato FAQ assistant's action server package (rasa-sdk discovers the actions in its modules)."""
