"""The Slack adapter: qualified-lead alerts (outbox delivery), the sales desk (claim,
disqualify, transcript, slash commands) and the Slack ↔ Telegram thread bridge."""
