"""Readers' live connection: hub, socket route and transport, relay, audience, reader cap."""
