-- Fencing for agent turns: a turn stores its decision only if its lease's fence is newer than
-- the last one stored, so a node whose Redis lease expired mid-turn cannot write after another.
ALTER TABLE chats ADD COLUMN turn_fence BIGINT NOT NULL DEFAULT 0;
