"""Readers' live connection: the hub, the socket route, relay, audience, reader cap, shutdown."""
