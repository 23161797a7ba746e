"""TaskHub as an MCP server: another agent manages a user's subscriptions with that user's token."""
