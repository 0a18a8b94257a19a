"""Helpers the tests share: real processes on loopback, free ports, the Node reference tools."""
