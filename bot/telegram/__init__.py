"""Telegram channel: python-telegram-bot v22 in front of the lead service.

* `inbound` — Update → channel-neutral Inbound (pure)
* `render` — queued reply → Telegram sends/edits (pure)
* `handlers` — PTB callback: service call, callback answers, group redirect
* `processor` — per-chat ordered, cross-chat concurrent update processing
* `delivery` / `pacing` — outbox delivery with flood limits and retries
* `application` — wiring (`TelegramRuntime`); `polling` — `run_polling`

Import the submodule you need (`from bot.telegram.polling import run_polling`): the
pure modules stay importable without the service and its dependencies.
"""
