-- A batch of inbound messages as one statement with a fixed text: each column is one array
-- parameter, so the statement is prepared once and its cost does not grow with 13 parameters
-- per row. Rows are inserted in the order given (sorted by dedupe key, so concurrent batches
-- that share a key wait on each other in the same order instead of deadlocking).
INSERT INTO messages (id, organization_id, chat_id, channel_id, direction, sender_kind, body,
                      status, external_id, reply_to_message_id, attachments, metadata, created_at)
SELECT v.id, v.organization_id, v.chat_id, v.channel_id, $10, $11, v.body,
       $12, v.external_id, v.reply_to, v.attachments, v.metadata, $13
FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::uuid[],
            $8::jsonb[], $9::jsonb[])
     AS v(id, organization_id, chat_id, channel_id, body, external_id, reply_to, attachments,
          metadata)
ON CONFLICT ON CONSTRAINT messages_channel_id_external_id_key DO NOTHING
RETURNING *
