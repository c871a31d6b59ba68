-- Claims up to $1 due outbox rows of the kinds in $2 for one dispatcher, for $3 milliseconds.
--
-- Due: pending and past next_attempt_at, or claimed by a dispatcher whose lease ran out (a crashed
-- node). Only the head of each ordering key is due: a row waits while an earlier row with its key
-- is still pending or sending (a crashed node's expired claim included), so one chat's messages go
-- out one at a time in order; sent and dead rows no longer block. SKIP LOCKED lets several nodes
-- claim at once without waiting for or taking each other's rows.
--
-- The candidates are a MATERIALIZED CTE rather than `id IN (subquery)`: the planner may rescan an
-- IN-subquery, and a rescan under SKIP LOCKED can return other rows than the LIMIT chose.
-- attempts is incremented here, so it also fences a late finish by a dispatcher that lost its claim.
WITH due AS MATERIALIZED (
    SELECT o.id
    FROM outbox o
    WHERE o.kind = ANY($2)
      AND ((o.status = 'pending' AND o.next_attempt_at <= now())
        OR (o.status = 'sending' AND o.locked_until < now()))
      AND NOT EXISTS (
          SELECT 1
          FROM outbox e
          WHERE e.ordering_key = o.ordering_key
            AND e.status IN ('pending', 'sending')
            AND (e.created_at, e.id) < (o.created_at, o.id)
      )
    ORDER BY o.created_at, o.id
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE outbox
SET status = 'sending',
    locked_until = now() + $3 * interval '1 millisecond',
    attempts = outbox.attempts + 1
FROM due
WHERE outbox.id = due.id
RETURNING outbox.*
