"""Process runners for `leadbot serve`, `leadbot worker` and `leadbot run`.

Each runner takes a built `Container`, starts its parts, waits for SIGTERM / SIGINT
(or a `stop` event, for tests), and shuts down gracefully: the web server stops
accepting connections and lets in-flight requests commit; background jobs stop
claiming and let in-flight deliveries finish; the Telegram runtime lets queued
sends in flight finish. Whatever is left is leased in the database and picked up
by the next process. The runners own the signals, so uvicorn's own handlers are
switched off.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
from collections.abc import Callable, Generator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette

from bot.bootstrap import Container
from bot.jobs import BackgroundJobs, JobOptions
from bot.settings import Settings
from bot.outbox.destinations import background_senders
from bot.slack.delivery import DeliveryPolicy as SlackPolicy
from bot.slack.runtime import SlackRuntime, build_slack_runtime
from bot.telegram.application import TelegramOptions, TelegramRuntime
from bot.telegram.polling import ALLOWED_UPDATES, run_polling
from bot.web.app import WebhookRegistration, WebParts, create_app
from bot.web.metrics import UpdateMetrics

log = logging.getLogger(__name__)


class StartupError(Exception):
    """A configuration problem the operator can fix; the message says how."""


@dataclass(frozen=True, slots=True)
class ServeOptions:
    host: str = "0.0.0.0"
    with_jobs: bool = False  # also run the worker's jobs in this process (single-dyno setups)
    max_connections: int = 40  # Telegram's parallel webhook requests (setWebhook, 1–100)
    graceful_seconds: float = 10.0
    telegram: TelegramOptions | None = None
    jobs: JobOptions | None = None


def listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound here: a busy port is one clear line, not uvicorn's exit."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(f"port {port} is already in use (another leadbot or web server?); "
                               "stop it, or set PORT to a free port") from None
        raise StartupError(f"cannot listen on {host}:{port} ({exc.strerror}); "
                           "check PORT and --host") from None
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers (the runner decides when to stop), and without
    its `sys.exit` when the app's startup fails: that SystemExit would escape the event
    loop with a traceback, where `serve_http` says why in one line."""

    @contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        except SystemExit:
            self.should_exit = True  # never started: serve_http raises StartupError


@contextmanager
def stop_on_signals(stop: asyncio.Event) -> Generator[None, None, None]:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def _telegram(container: Container, options: TelegramOptions | None) -> TelegramRuntime | None:
    token = container.settings.telegram_bot_token
    if token is None:
        return None
    return TelegramRuntime(
        token=token.get_secret_value(), base_url=container.settings.telegram_api_base_url,
        service=container.service, uow_factory=container.uow, clock=container.clock,
        options=options or _default_telegram_options(container),
    )


def _default_telegram_options(container: Container) -> TelegramOptions:
    return TelegramOptions(overall_per_second=container.settings.telegram_send_rate)


def _slack(container: Container, policy: SlackPolicy | None = None) -> SlackRuntime:
    slack = build_slack_runtime(
        container.settings, session_factory=container.session_factory,
        script_provider=lambda: container.script_source.loaded().script, clock=container.clock, policy=policy,
    )
    for sender in background_senders(container):  # other destinations, same worker
        slack.delivery.worker.register(sender)
    return slack


def check_serve_settings(settings: Settings) -> None:
    """Refuse a `leadbot serve` configuration that cannot be safe or work (before any I/O)."""
    secret = settings.telegram_webhook_secret
    if settings.telegram_bot_token is not None and not (secret and secret.get_secret_value()):
        raise StartupError("TELEGRAM_WEBHOOK_SECRET is not set: without it anyone could post "
                           "updates to /telegram/webhook; set it to a random string "
                           "(A-Z a-z 0-9 _ -)")
    if settings.telegram_webhook_url and settings.telegram_bot_token is None:
        raise StartupError("TELEGRAM_WEBHOOK_URL is set but TELEGRAM_BOT_TOKEN is not; "
                           "export the bot token from @BotFather")


def build_web_parts(container: Container, options: ServeOptions) -> WebParts:
    """Everything `leadbot serve` mounts, checked for a usable configuration."""
    settings = container.settings
    check_serve_settings(settings)
    telegram = _telegram(container, options.telegram)
    secret = settings.telegram_webhook_secret.get_secret_value() \
        if settings.telegram_webhook_secret else None
    register = None
    if telegram is not None and settings.telegram_webhook_url and secret:
        register = WebhookRegistration(url=settings.telegram_webhook_url, secret=secret,
                                       allowed_updates=ALLOWED_UPDATES,
                                       max_connections=options.max_connections)
    slack = _slack(container)
    background = None
    if options.with_jobs:
        background = BackgroundJobs(service=container.service, slack=slack.delivery,
                                    telegram=telegram.delivery if telegram else None,
                                    options=options.jobs)
    return WebParts(container=container, telegram=telegram, webhook_secret=secret,
                    register=register, slack_routes=slack.routes, background=background)


# How long an idle HTTP connection stays open. uvicorn's default (5 s) is shorter than
# the gaps between a chat's updates: Telegram (or the proxy in front) would often
# find its kept-alive connection closed, and an update sent on it as the server
# closes it fails and is delivered again later. 75 s is nginx's default keepalive.
KEEP_ALIVE_SECONDS = 75


async def serve_http(
    app: Starlette, *, host: str, port: int, stop: asyncio.Event,
    graceful_seconds: float = 10.0, ready: Callable[[int], None] | None = None,
) -> None:
    """Serve `app` until `stop` is set; in-flight requests get `graceful_seconds` to finish."""
    config = uvicorn.Config(
        app, host=host, port=port, lifespan="on", log_config=None, access_log=False,
        timeout_graceful_shutdown=int(graceful_seconds), server_header=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[listening_socket(host, port)]), name="http")
    waiter = asyncio.create_task(stop.wait())
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if server.started and ready is not None:
        ready(server.servers[0].sockets[0].getsockname()[1])
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    waiter.cancel()
    await task
    if not server.started:
        raise StartupError("the web app failed to start (see the log above)")


async def serve(
    container: Container, *, port: int, options: ServeOptions | None = None,
    stop: asyncio.Event | None = None, ready: Callable[[int], None] | None = None,
) -> None:
    """`leadbot serve`: the HTTP app until SIGTERM."""
    options = options or ServeOptions()
    parts = build_web_parts(container, options)
    stop = stop or asyncio.Event()
    with stop_on_signals(stop):
        try:
            await serve_http(create_app(parts), host=options.host, port=port, stop=stop,
                             graceful_seconds=options.graceful_seconds, ready=ready)
        except StartupError:
            if parts.startup_error is not None:  # e.g. InvalidToken: the CLI explains it
                raise parts.startup_error from None
            raise


async def work(
    container: Container, *, stop: asyncio.Event | None = None,
    telegram_options: TelegramOptions | None = None, job_options: JobOptions | None = None,
    slack_policy: SlackPolicy | None = None, ready: Callable[[], None] | None = None,
) -> None:
    """`leadbot worker`: Slack delivery, Telegram reply delivery and nudges until SIGTERM."""
    stop = stop or asyncio.Event()
    telegram = _telegram(container, telegram_options)
    if telegram is None:
        log.warning("TELEGRAM_BOT_TOKEN is not set: Telegram replies and nudges stay queued")
    jobs = BackgroundJobs(service=container.service, slack=_slack(container, slack_policy).delivery,
                          telegram=telegram.delivery if telegram else None, options=job_options)
    with stop_on_signals(stop):
        if telegram is not None:
            # Only the sending side: connect (getMe) and run the reply deliverer;
            # updates reach the web processes, not the worker.
            await telegram.connect()
            telegram.delivery.start()
        jobs.start()
        log.info("worker started")
        if ready is not None:
            ready()
        try:
            await stop.wait()
        finally:
            log.info("worker stopping")
            await jobs.stop()
            if telegram is not None:
                await telegram.stop()


async def run_all(
    container: Container, *, port: int, stop: asyncio.Event | None = None,
    telegram_options: TelegramOptions | None = None, job_options: JobOptions | None = None,
    started: Callable[[TelegramRuntime], None] | None = None,
    web_ready: Callable[[int], None] | None = None, host: str = "0.0.0.0",
) -> None:
    """`leadbot run`: the workspace, Slack endpoints and background jobs on `port`, plus
    Telegram long polling when a token is set, in one process."""
    settings = container.settings
    token = settings.telegram_bot_token
    stop = stop or asyncio.Event()
    slack = _slack(container)
    jobs = BackgroundJobs(service=container.service, slack=slack.delivery, options=job_options)

    def on_started(runtime: TelegramRuntime) -> None:
        jobs.telegram = runtime.delivery  # so nudges' replies go out at once
        if started is not None:
            started(runtime)

    metrics = UpdateMetrics()  # filled by the poller, shown on /metrics
    with stop_on_signals(stop):
        tasks: list[asyncio.Task[None]] = []
        if token is not None:
            tasks.append(asyncio.create_task(run_polling(
                token=token.get_secret_value(), base_url=settings.telegram_api_base_url,
                service=container.service, uow_factory=container.uow, clock=container.clock,
                options=telegram_options or _default_telegram_options(container),
                handle_signals=False, started=on_started, stop_event=stop,
                observe=metrics.observe,
            ), name="polling"))
        # HTTP always: the workspace (/studio), Slack's endpoints, the events API, metrics.
        parts = WebParts(container=container, slack_routes=slack.routes,
                         manage_telegram=False, metrics=metrics)
        tasks.append(asyncio.create_task(serve_http(
            create_app(parts), host=host, port=port, stop=stop, ready=web_ready), name="http"))
        jobs.start()
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.set()
            await jobs.stop()
            results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:  # InvalidToken / NetworkError / StartupError: the CLI explains
        if isinstance(result, BaseException):
            raise result
