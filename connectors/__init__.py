"""Rasa server-side extensions: input channels and the erasing tracker store."""
