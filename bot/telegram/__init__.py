"""Telegram channel: the Bot API in front of the lead service.

* `update_model` — an update's JSON checked into the shapes Leadbot reads
* `inbound` — update → channel-neutral Inbound (pure)
* `render` — queued reply → Telegram sends/edits (pure)
* `handlers` — one update: service call, callback answers, group redirect
* `processor` — per-chat ordered, cross-chat concurrent update processing
* `botapi` — the lean Bot API client (replies, getUpdates); `transport` — aiohttp under
  python-telegram-bot's `Bot`, which makes the calls at start
* `delivery` / `pacing` — outbox delivery with flood limits and retries
* `application` — wiring (`TelegramRuntime`); `polling` — `run_polling`

Import the submodule you need (`from bot.telegram.polling import run_polling`): the
pure modules stay importable without the service and its dependencies.
"""
