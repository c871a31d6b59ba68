-- The IMAP poller's committed position per email channel: the mailbox it reads, that mailbox's
-- UIDVALIDITY, and the highest UID whose message is committed (stored, or kept aside). Written
-- only after that commit, so a crash re-fetches and ingest's dedupe absorbs the repeats. A
-- different mailbox or UIDVALIDITY means the UIDs start over.
CREATE TABLE email_poll_state (
    channel_id uuid PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    mailbox text NOT NULL,
    uid_validity bigint NOT NULL,
    last_uid bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
