-- Every chat of a batch in one statement: unread count up by the number of new messages, a
-- resolved or snoozed chat reopened (a contact wrote again), and the newest time and preview —
-- kept if the chat already shows a newer message (an overlapping batch gathered later can commit
-- first). `c.id = ANY($1)` lets the planner reach the rows through the primary key instead of
-- hashing the whole table; ids come sorted, so concurrent batches lock shared chats in one order.
UPDATE chats AS c
SET last_message_at = GREATEST(c.last_message_at, v.at),
    last_message_preview = CASE
        WHEN c.last_message_at IS NULL OR v.at >= c.last_message_at THEN v.preview
        ELSE c.last_message_preview
    END,
    unread_count = c.unread_count + v.n, status = 'open', snoozed_until = NULL
FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::int4[]) AS v(id, at, preview, n)
WHERE c.id = v.id AND c.id = ANY($1::uuid[])
RETURNING c.*
