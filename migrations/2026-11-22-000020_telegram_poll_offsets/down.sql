DROP TABLE telegram_poll_offsets;
