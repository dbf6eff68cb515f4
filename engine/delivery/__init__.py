"""Email and webhooks from one durable outbox: settings, composing, sending."""
