"""The controller's core: the actor runtime, every actor, and the clients they use.

Nothing in this package imports from ``web``; the web layer only sends messages to the actors
defined here and relays their replies.
"""
