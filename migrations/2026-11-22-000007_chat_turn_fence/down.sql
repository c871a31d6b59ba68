ALTER TABLE chats DROP COLUMN turn_fence;
