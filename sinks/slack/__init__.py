"""Account-based alerts to Slack channels (Block Kit via the Slack Web API)."""
