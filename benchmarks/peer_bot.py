"""The peer: the lead-qualification bot a Python developer writes in an afternoon.

python-telegram-bot's `ConversationHandler` with `PicklePersistence`, behind PTB's
own webhook server (tornado), asking the same four questions as Leadbot's default
script (sector, company size, budget, urgency) and keeping the answers in
`user_data`. No matching, no scoring, no database: state lives in memory and is
pickled now and then. It is the yardstick of `benchmarks/reply_path.py`. With
`--polling` it long-polls (`run_polling`) instead, as Leadbot's `leadbot run` does.

    python benchmarks/peer_bot.py --port 8443 --base-url http://127.0.0.1:9000/bot \\
        --token 123:ABC --secret s3cret --state /tmp/peer.pickle
"""

from __future__ import annotations

import argparse

from telegram import Update
from telegram.ext import (
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)

SECTOR, SIZE, BUDGET, URGENCY = range(4)
QUESTIONS = {
    SECTOR: "Which sector is your company in?",
    SIZE: "How many people work at your company?",
    BUDGET: "What budget do you have in mind for this project?",
    URGENCY: "When would you like to start?",
}


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.message is not None and context.user_data is not None
    context.user_data.clear()
    name = update.effective_user.first_name if update.effective_user else "there"
    await update.message.reply_text(f"Hi {name}! Four quick questions to see how we can help.\n\n"
                                    + QUESTIONS[SECTOR])
    return SECTOR


def answer(field: str, following: int | None) -> object:
    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        assert update.message is not None and context.user_data is not None
        context.user_data[field] = update.message.text
        if following is None:
            await update.message.reply_text("Thanks! Someone from our team will be in touch.")
            return ConversationHandler.END
        await update.message.reply_text(QUESTIONS[following])
        return following

    return handle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--polling", action="store_true",
                        help="long polling (run_polling) instead of the webhook server")
    args = parser.parse_args()
    application = (ApplicationBuilder().token(args.token).base_url(args.base_url)
                   .persistence(PicklePersistence(filepath=args.state)).build())
    text = filters.TEXT & ~filters.COMMAND
    application.add_handler(ConversationHandler(
        entry_points=[CommandHandler("start", start)],
        states={
            SECTOR: [MessageHandler(text, answer("sector", SIZE))],  # type: ignore[arg-type]
            SIZE: [MessageHandler(text, answer("size", BUDGET))],  # type: ignore[arg-type]
            BUDGET: [MessageHandler(text, answer("budget", URGENCY))],  # type: ignore[arg-type]
            URGENCY: [MessageHandler(text, answer("urgency", None))],  # type: ignore[arg-type]
        },
        fallbacks=[CommandHandler("start", start)],
        name="qualify", persistent=True,
    ))
    if args.polling:
        application.run_polling(poll_interval=0.0, timeout=25)
        return
    application.run_webhook(
        listen="127.0.0.1", port=args.port, url_path="telegram/webhook",
        secret_token=args.secret, webhook_url=f"http://127.0.0.1:{args.port}/telegram/webhook",
    )


if __name__ == "__main__":
    main()
