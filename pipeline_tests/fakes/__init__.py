"""Real servers on loopback that speak the providers' protocols, for tests."""
