-- One organisation's events in one statement: the cursor bump (which locks the organisation row
-- until the transaction ends, so cursors become visible in commit order) and the insert of every
-- event with its seq, in the order given. Payloads go in as one jsonb[] parameter and do not
-- come back (the caller has them).
WITH bump AS (
    UPDATE organizations
    SET event_seq = event_seq + cardinality($2::text[])
    WHERE id = $1
    RETURNING event_seq - cardinality($2::text[]) AS base
)
INSERT INTO events (organization_id, seq, event_type, chat_id, payload)
SELECT $1, bump.base + v.n, v.event_type, v.chat_id, v.payload
FROM bump,
     unnest($2::text[], $3::uuid[], $4::jsonb[]) WITH ORDINALITY AS v(event_type, chat_id, payload, n)
RETURNING seq, created_at
