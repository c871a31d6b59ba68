-- Long polling's confirmed offset per Telegram bot channel: the next update id to ask for.
-- Written only after the updates before it are committed, so a crash re-reads them (and
-- ingest's dedupe absorbs the repeats) instead of losing them.
CREATE TABLE telegram_poll_offsets (
    channel_id uuid PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    confirmed_offset bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
