DROP FUNCTION IF EXISTS switchboard_touch_updated_at();
DROP EXTENSION IF EXISTS vector;
