"""The workspace's pages; each module exposes `ROUTES`, listed in bot/studio/app.py."""
