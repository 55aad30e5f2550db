"""Outbox delivery: one worker skeleton (`bot.outbox.worker`) with a sender per destination kind."""
