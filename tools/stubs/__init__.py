"""Local stand-ins for outside services (scripted, not the real thing) for tests and offline demos."""
