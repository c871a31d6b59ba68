-- Templates and outreach campaigns.
CREATE TABLE templates (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind TEXT NOT NULL CHECK (kind IN ('pitch', 'message', 'email')),
    subject TEXT,
    body TEXT NOT NULL,
    -- Quick settings from the pitch generator: tone, length, focus.
    settings JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    UNIQUE (organization_id, name)
);
CREATE TRIGGER templates_touch BEFORE UPDATE ON templates
    FOR EACH ROW EXECUTE FUNCTION switchboard_touch_updated_at();

CREATE TABLE campaigns (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled')),
    channel_id UUID,
    agent_id UUID,
    -- Audience filter (tags, company, attributes) resolved when the campaign starts.
    audience JSONB NOT NULL DEFAULT '{}',
    -- Throttling, quiet hours, stop rules.
    settings JSONB NOT NULL DEFAULT '{}',
    starts_at TIMESTAMPTZ,
    created_by UUID REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    CONSTRAINT campaigns_channel_fk FOREIGN KEY (organization_id, channel_id)
        REFERENCES channels (organization_id, id) ON DELETE SET NULL (channel_id),
    CONSTRAINT campaigns_agent_fk FOREIGN KEY (organization_id, agent_id)
        REFERENCES ai_agents (organization_id, id) ON DELETE SET NULL (agent_id)
);
CREATE INDEX campaigns_org_idx ON campaigns (organization_id, created_at DESC, id DESC);
CREATE TRIGGER campaigns_touch BEFORE UPDATE ON campaigns
    FOR EACH ROW EXECUTE FUNCTION switchboard_touch_updated_at();

CREATE TABLE campaign_steps (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL,
    campaign_id UUID NOT NULL,
    position INTEGER NOT NULL CHECK (position >= 0),
    delay_seconds BIGINT NOT NULL DEFAULT 0 CHECK (delay_seconds >= 0),
    template_id UUID,
    subject TEXT,
    body TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    UNIQUE (campaign_id, position) DEFERRABLE INITIALLY DEFERRED,
    CHECK (template_id IS NOT NULL OR body IS NOT NULL),
    CONSTRAINT campaign_steps_campaign_fk FOREIGN KEY (organization_id, campaign_id)
        REFERENCES campaigns (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT campaign_steps_template_fk FOREIGN KEY (organization_id, template_id)
        REFERENCES templates (organization_id, id)
);
CREATE TRIGGER campaign_steps_touch BEFORE UPDATE ON campaign_steps
    FOR EACH ROW EXECUTE FUNCTION switchboard_touch_updated_at();

CREATE TABLE campaign_recipients (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL,
    campaign_id UUID NOT NULL,
    contact_id UUID NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'active', 'replied', 'completed', 'unsubscribed', 'bounced', 'failed', 'skipped')),
    current_step INTEGER NOT NULL DEFAULT 0,
    next_send_at TIMESTAMPTZ,
    last_error TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    UNIQUE (campaign_id, contact_id),
    CONSTRAINT campaign_recipients_campaign_fk FOREIGN KEY (organization_id, campaign_id)
        REFERENCES campaigns (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT campaign_recipients_contact_fk FOREIGN KEY (organization_id, contact_id)
        REFERENCES contacts (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX campaign_recipients_due_idx ON campaign_recipients (next_send_at) WHERE status IN ('pending', 'active');
CREATE TRIGGER campaign_recipients_touch BEFORE UPDATE ON campaign_recipients
    FOR EACH ROW EXECUTE FUNCTION switchboard_touch_updated_at();

-- Addresses nobody may send to, checked by every sender at send time.
CREATE TABLE suppression_list (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    address_kind TEXT NOT NULL CHECK (address_kind IN ('email', 'phone', 'telegram')),
    address TEXT NOT NULL,
    reason TEXT NOT NULL CHECK (reason IN ('unsubscribe', 'bounce', 'complaint', 'manual')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (organization_id, address_kind, address)
);
