"""HTTP and WebSocket routes, one small module per route group; each exposes a Blueprint."""
