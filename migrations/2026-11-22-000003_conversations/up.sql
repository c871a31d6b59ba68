-- Channels, chats and messages: the spine of the product.
CREATE TABLE channels (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('telegram', 'email', 'web')),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- Non-secret settings only; secrets are named environment variables in secret_refs.
    settings JSONB NOT NULL DEFAULT '{}',
    secret_refs JSONB NOT NULL DEFAULT '{}',
    active BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    UNIQUE (organization_id, name)
);
CREATE TRIGGER channels_touch BEFORE UPDATE ON channels
    FOR EACH ROW EXECUTE FUNCTION switchboard_touch_updated_at();

CREATE TABLE ai_agents (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind TEXT NOT NULL CHECK (kind IN ('sdr', 'followup', 'bizdev')),
    description TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL,
    temperature REAL NOT NULL DEFAULT 0.7 CHECK (temperature >= 0 AND temperature <= 2),
    max_tokens INTEGER NOT NULL DEFAULT 512 CHECK (max_tokens > 0),
    prompt_template TEXT NOT NULL,
    tools TEXT[] NOT NULL DEFAULT '{}',
    guardrails JSONB NOT NULL DEFAULT '{}',
    autonomy TEXT NOT NULL DEFAULT 'draft' CHECK (autonomy IN ('off', 'draft', 'auto')),
    memory JSONB NOT NULL DEFAULT '{}',
    budgets JSONB NOT NULL DEFAULT '{}',
    active BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    UNIQUE (organization_id, name)
);
CREATE TRIGGER ai_agents_touch BEFORE UPDATE ON ai_agents
    FOR EACH ROW EXECUTE FUNCTION switchboard_touch_updated_at();

CREATE TABLE chats (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    contact_id UUID NOT NULL,
    channel_id UUID NOT NULL,
    external_thread_id TEXT NOT NULL,
    subject TEXT,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'snoozed', 'resolved')),
    snoozed_until TIMESTAMPTZ,
    assigned_user_id UUID REFERENCES users (id) ON DELETE SET NULL,
    assigned_agent_id UUID,
    autonomy TEXT NOT NULL DEFAULT 'draft' CHECK (autonomy IN ('off', 'draft', 'auto')),
    last_message_at TIMESTAMPTZ,
    last_message_preview TEXT,
    unread_count INTEGER NOT NULL DEFAULT 0 CHECK (unread_count >= 0),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    UNIQUE (channel_id, external_thread_id),
    CHECK (assigned_user_id IS NULL OR assigned_agent_id IS NULL),
    CONSTRAINT chats_contact_fk FOREIGN KEY (organization_id, contact_id)
        REFERENCES contacts (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT chats_channel_fk FOREIGN KEY (organization_id, channel_id)
        REFERENCES channels (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT chats_agent_fk FOREIGN KEY (organization_id, assigned_agent_id)
        REFERENCES ai_agents (organization_id, id) ON DELETE SET NULL (assigned_agent_id)
);
CREATE INDEX chats_org_recent_idx ON chats (organization_id, last_message_at DESC NULLS LAST, id DESC);
CREATE INDEX chats_org_created_idx ON chats (organization_id, created_at DESC, id DESC);
CREATE INDEX chats_contact_idx ON chats (organization_id, contact_id);
CREATE INDEX chats_assignee_idx ON chats (organization_id, assigned_user_id) WHERE assigned_user_id IS NOT NULL;
CREATE TRIGGER chats_touch BEFORE UPDATE ON chats
    FOR EACH ROW EXECUTE FUNCTION switchboard_touch_updated_at();

CREATE TABLE messages (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    chat_id UUID NOT NULL,
    channel_id UUID NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    sender_kind TEXT NOT NULL CHECK (sender_kind IN ('contact', 'operator', 'agent', 'system')),
    sender_user_id UUID REFERENCES users (id) ON DELETE SET NULL,
    sender_agent_id UUID,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('received', 'queued', 'sent', 'delivered', 'read', 'failed')),
    draft_state TEXT CHECK (draft_state IN ('pending_approval', 'approved', 'rejected')),
    -- The channel's own id (Telegram update/message id, email Message-ID): the dedupe key.
    external_id TEXT,
    reply_to_message_id UUID,
    attachments JSONB NOT NULL DEFAULT '[]',
    metadata JSONB NOT NULL DEFAULT '{}',
    sent_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    UNIQUE (channel_id, external_id),
    CONSTRAINT messages_chat_fk FOREIGN KEY (organization_id, chat_id)
        REFERENCES chats (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT messages_agent_fk FOREIGN KEY (organization_id, sender_agent_id)
        REFERENCES ai_agents (organization_id, id) ON DELETE SET NULL (sender_agent_id),
    CONSTRAINT messages_reply_fk FOREIGN KEY (organization_id, reply_to_message_id)
        REFERENCES messages (organization_id, id) ON DELETE SET NULL (reply_to_message_id)
);
CREATE INDEX messages_chat_idx ON messages (chat_id, created_at, id);
CREATE INDEX messages_org_drafts_idx ON messages (organization_id, created_at) WHERE draft_state = 'pending_approval';
CREATE TRIGGER messages_touch BEFORE UPDATE ON messages
    FOR EACH ROW EXECUTE FUNCTION switchboard_touch_updated_at();
