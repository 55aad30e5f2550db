"""Where a lead goes besides Slack: lead events, outbound webhooks, HubSpot."""
