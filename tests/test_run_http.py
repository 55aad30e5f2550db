"""`leadbot run` serves the events API on PORT when LEADBOT_API_KEY is set, and /metrics counts
the updates it polled."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import httpx

from bot.bootstrap import build
from bot.runtime import run_all
from bot.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_run_serves_the_events_api_when_a_key_is_set(
    fake_telegram: Any, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'run.db'}", telegram_bot_token=fake_telegram.token,
        telegram_api_base_url=fake_telegram.base_url, leadbot_api_key="k3y",
    )
    container = build(settings)
    port, stop, started = free_port(), asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_all(container, port=port, stop=stop,
                                       started=lambda _runtime: started.set()))
    try:
        await asyncio.wait_for(started.wait(), timeout=15)
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(trust_env=False) as http:
            for _ in range(100):  # the HTTP server starts beside the poller
                try:
                    health = await http.get(url + "/healthz")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            assert health.status_code == 200
            body = {"lead": {"id": 999}, "event": "webinar_registration"}
            assert (await http.post(url + "/api/events", json=body)).status_code == 401
            answer = await http.post(url + "/api/events", json=body,
                                     headers={"Authorization": "Bearer k3y"})
            assert answer.status_code == 404 and answer.json()["error"] == "unknown_lead"

            # Updates come by long polling here; /metrics counts them like webhook ones.
            fake_telegram.send_text(4242, "/start")
            fake_telegram.send_text(4242, "we sell software")
            await fake_telegram.wait_for(lambda: fake_telegram.pending_updates() == 0,
                                         what="both updates to be confirmed")
            metrics = (await http.get(url + "/metrics")).text
            assert 'leadbot_updates_handled_total{outcome="ok"} 2' in metrics
            assert "leadbot_update_handling_seconds_count 2" in metrics
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)
        container.close()
