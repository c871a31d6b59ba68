DROP TABLE idempotency_keys;
DROP TABLE usage_logs;
DROP TABLE audit_logs;
DROP TABLE events;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP TABLE outbox;
