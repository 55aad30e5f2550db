"""What happens when a Slack listener fails: one log line through a FaultLog, never the request body.

Bolt's default error handler logs the exception with the whole request body; a
database outage would log a traceback (and prospects' data) per click. Listeners
validate their own input (`bot.slack.lead_ref`, the alert-location check), so
what reaches here is a fault: logged once with its cause, then summarised.
"""

from __future__ import annotations

import logging

from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncApp

from bot.logging_faults import FaultLog

log = logging.getLogger(__name__)


def report_listener_errors(app: AsyncApp) -> FaultLog:
    """Install the error handler on `app`; returns its FaultLog."""
    faults = FaultLog("Slack listeners", log)

    async def on_error(error: Exception) -> BoltResponse:
        faults.failed(error)
        return BoltResponse(status=500, body="")

    app.error(on_error)
    return faults
