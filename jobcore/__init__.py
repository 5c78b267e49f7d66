"""Job core: schema, text, audio, pipeline and errors of the TTS worker; never imports runpod."""
