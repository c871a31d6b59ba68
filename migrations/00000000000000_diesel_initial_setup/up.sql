-- Extensions every later migration relies on. pgvector first: agent memories are vectors.
CREATE EXTENSION IF NOT EXISTS vector;

-- Keeps updated_at honest without every query remembering to set it.
CREATE OR REPLACE FUNCTION switchboard_touch_updated_at() RETURNS trigger AS $$
BEGIN
    IF NEW IS DISTINCT FROM OLD AND NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
