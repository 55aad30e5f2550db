"""Channel names to channel ids: scripts and SLACK_CHANNEL say `#sales`, the Web API wants `C…`.

`chat.postMessage` accepts a name, but `conversations.history` (how delivery finds an
alert posted just before a crash) only takes ids, so delivery always works with ids.
Resolved ids are cached for the life of the process; a rename shows up on restart.
"""

from __future__ import annotations

import re

from slack_sdk.web.async_client import AsyncWebClient

# Conversation ids: C… public, G… private/group, D… direct messages, U…/W… users (DM).
_ID = re.compile(r"^[CGDUW][A-Z0-9]{6,}$")


class ChannelNotFound(Exception):
    """The channel name is unknown to Slack or the bot is not allowed to see it."""


class ChannelResolver:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._cache: dict[str, str] = {}

    async def resolve(self, channel: str) -> str:
        channel = channel.strip()
        if _ID.match(channel):
            return channel
        name = channel.lstrip("#").lower()
        if name in self._cache:
            return self._cache[name]
        cursor: str | None = None
        for _page in range(50):  # 50 × 1000 channels is plenty; avoids a runaway loop
            response = await self._client.conversations_list(
                types="public_channel,private_channel", exclude_archived=True, limit=1000,
                cursor=cursor,
            )
            for item in response.get("channels") or []:
                self._cache[str(item.get("name", "")).lower()] = str(item["id"])
            if name in self._cache:
                return self._cache[name]
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        raise ChannelNotFound(
            f"Slack channel {channel!r} not found: check the name and invite the bot to it"
        )
