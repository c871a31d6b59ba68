-- Tool calls an agent made that wait for a human (tools in the agent's approval_required_tools).
-- A call runs at most once: approving is one UPDATE ... WHERE status = 'pending'.
CREATE TABLE tool_approvals (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    chat_id UUID NOT NULL,
    contact_id UUID NOT NULL,
    agent_id UUID,
    execution_id UUID NOT NULL,
    tool TEXT NOT NULL,
    arguments JSONB NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'rejected', 'executed', 'failed')),
    result JSONB,
    decided_by UUID REFERENCES users (id) ON DELETE SET NULL,
    decided_at TIMESTAMPTZ,
    decision_note TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    CONSTRAINT tool_approvals_chat_fk FOREIGN KEY (organization_id, chat_id)
        REFERENCES chats (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT tool_approvals_contact_fk FOREIGN KEY (organization_id, contact_id)
        REFERENCES contacts (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX tool_approvals_pending_idx ON tool_approvals (organization_id, created_at)
    WHERE status = 'pending';
CREATE INDEX tool_approvals_chat_idx ON tool_approvals (organization_id, chat_id, created_at);
CREATE TRIGGER tool_approvals_touch BEFORE UPDATE ON tool_approvals
    FOR EACH ROW EXECUTE FUNCTION switchboard_touch_updated_at();
