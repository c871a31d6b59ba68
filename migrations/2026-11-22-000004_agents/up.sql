-- What agents remember and what they did.
CREATE TABLE agent_memories (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    contact_id UUID NOT NULL,
    agent_id UUID,
    kind TEXT NOT NULL CHECK (kind IN ('fact', 'preference', 'summary')),
    content TEXT NOT NULL CHECK (length(content) BETWEEN 1 AND 4000),
    -- all-minilm (all-MiniLM-L6-v2) gives 384 dimensions; start-up checks the configured model matches.
    embedding vector(384),
    source_message_id UUID,
    metadata JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    CONSTRAINT agent_memories_contact_fk FOREIGN KEY (organization_id, contact_id)
        REFERENCES contacts (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT agent_memories_agent_fk FOREIGN KEY (organization_id, agent_id)
        REFERENCES ai_agents (organization_id, id) ON DELETE SET NULL (agent_id),
    CONSTRAINT agent_memories_message_fk FOREIGN KEY (organization_id, source_message_id)
        REFERENCES messages (organization_id, id) ON DELETE SET NULL (source_message_id)
);
CREATE INDEX agent_memories_contact_idx ON agent_memories (organization_id, contact_id, created_at DESC);
CREATE INDEX agent_memories_embedding_idx ON agent_memories USING hnsw (embedding vector_cosine_ops);
CREATE TRIGGER agent_memories_touch BEFORE UPDATE ON agent_memories
    FOR EACH ROW EXECUTE FUNCTION switchboard_touch_updated_at();

CREATE TABLE agent_executions (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    agent_id UUID,
    chat_id UUID,
    message_id UUID,
    trigger TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'replied', 'drafted', 'handed_off', 'blocked', 'failed', 'cancelled')),
    inputs JSONB NOT NULL DEFAULT '{}',
    outputs JSONB NOT NULL DEFAULT '{}',
    tool_calls JSONB NOT NULL DEFAULT '[]',
    guardrail_decisions JSONB NOT NULL DEFAULT '[]',
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    latency_ms INTEGER,
    error TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ,
    UNIQUE (organization_id, id),
    CONSTRAINT agent_executions_agent_fk FOREIGN KEY (organization_id, agent_id)
        REFERENCES ai_agents (organization_id, id) ON DELETE SET NULL (agent_id),
    CONSTRAINT agent_executions_chat_fk FOREIGN KEY (organization_id, chat_id)
        REFERENCES chats (organization_id, id) ON DELETE SET NULL (chat_id),
    CONSTRAINT agent_executions_message_fk FOREIGN KEY (organization_id, message_id)
        REFERENCES messages (organization_id, id) ON DELETE SET NULL (message_id)
);
CREATE INDEX agent_executions_org_idx ON agent_executions (organization_id, created_at DESC, id DESC);
CREATE INDEX agent_executions_chat_idx ON agent_executions (organization_id, chat_id, created_at DESC) WHERE chat_id IS NOT NULL;
