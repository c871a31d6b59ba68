-- Where an organisation's agents came from: one row per (organisation, agents/*.toml file) that
-- start-up provisioning has turned into an `ai_agents` row. Agents created through the API have
-- no row here. `definition_hash` is the file's definition (with its prompt) last applied, so a
-- start-up with a changed file updates the agent; `overridden_at` is set when the organisation
-- edits the agent through the API, after which the file no longer touches it; `agent_id`
-- becomes NULL when the organisation deletes the agent, so the file does not bring it back.
CREATE TABLE ai_agent_origins (
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    source_file TEXT NOT NULL CHECK (length(source_file) BETWEEN 1 AND 255),
    agent_id UUID,
    definition_hash TEXT NOT NULL,
    overridden_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, source_file),
    UNIQUE (organization_id, agent_id),
    CONSTRAINT ai_agent_origins_agent_fk FOREIGN KEY (organization_id, agent_id)
        REFERENCES ai_agents (organization_id, id) ON DELETE SET NULL (agent_id)
);
CREATE TRIGGER ai_agent_origins_touch BEFORE UPDATE ON ai_agent_origins
    FOR EACH ROW EXECUTE FUNCTION switchboard_touch_updated_at();
