"""What tests share: local HTTP servers, receivers, a browser, the CLI runner and event logs to read."""
