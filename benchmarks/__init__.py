"""Speed and memory figures (`make bench`); targets live here, not in tests."""
