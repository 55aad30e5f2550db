"""The HTTP API for systems outside the chat: `POST /api/events` records engagement signals."""
