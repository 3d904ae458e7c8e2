"""Input channels: one connector per module, as in rasa/core/channels/."""
