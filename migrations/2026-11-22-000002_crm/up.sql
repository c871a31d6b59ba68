-- The CRM core. Child rows reference parents through (organization_id, id) so the database
-- itself refuses a reference to another tenant's row.
CREATE TABLE companies (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    domain TEXT,
    industry TEXT,
    size TEXT,
    website TEXT,
    description TEXT,
    attributes JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id)
);
CREATE INDEX companies_org_idx ON companies (organization_id, created_at DESC, id DESC);
CREATE INDEX companies_org_name_idx ON companies (organization_id, lower(name));
CREATE TRIGGER companies_touch BEFORE UPDATE ON companies
    FOR EACH ROW EXECUTE FUNCTION switchboard_touch_updated_at();

CREATE TABLE contacts (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    company_id UUID,
    name TEXT NOT NULL DEFAULT '',
    email TEXT,
    phone TEXT,
    telegram_user_id BIGINT,
    telegram_chat_id BIGINT,
    telegram_username TEXT,
    title TEXT,
    tags TEXT[] NOT NULL DEFAULT '{}',
    attributes JSONB NOT NULL DEFAULT '{}',
    timezone TEXT,
    source TEXT,
    unsubscribed_at TIMESTAMPTZ,
    bounced_at TIMESTAMPTZ,
    unreachable_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    CONSTRAINT contacts_company_fk FOREIGN KEY (organization_id, company_id)
        REFERENCES companies (organization_id, id) ON DELETE SET NULL (company_id)
);
CREATE INDEX contacts_org_idx ON contacts (organization_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX contacts_org_email_key ON contacts (organization_id, lower(email)) WHERE email IS NOT NULL;
CREATE INDEX contacts_org_name_idx ON contacts (organization_id, lower(name));
CREATE INDEX contacts_tags_idx ON contacts USING gin (tags);
CREATE INDEX contacts_org_telegram_idx ON contacts (organization_id, telegram_user_id) WHERE telegram_user_id IS NOT NULL;
CREATE INDEX contacts_company_idx ON contacts (organization_id, company_id) WHERE company_id IS NOT NULL;
CREATE TRIGGER contacts_touch BEFORE UPDATE ON contacts
    FOR EACH ROW EXECUTE FUNCTION switchboard_touch_updated_at();

CREATE TABLE pipelines (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    is_default BOOLEAN NOT NULL DEFAULT false,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    UNIQUE (organization_id, name)
);
CREATE UNIQUE INDEX pipelines_one_default ON pipelines (organization_id) WHERE is_default;
CREATE TRIGGER pipelines_touch BEFORE UPDATE ON pipelines
    FOR EACH ROW EXECUTE FUNCTION switchboard_touch_updated_at();

CREATE TABLE pipeline_stages (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL,
    pipeline_id UUID NOT NULL,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    position INTEGER NOT NULL CHECK (position >= 0),
    probability INTEGER NOT NULL DEFAULT 0 CHECK (probability BETWEEN 0 AND 100),
    outcome TEXT NOT NULL DEFAULT 'open' CHECK (outcome IN ('open', 'won', 'lost')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    UNIQUE (pipeline_id, id),
    UNIQUE (pipeline_id, position) DEFERRABLE INITIALLY DEFERRED,
    FOREIGN KEY (organization_id, pipeline_id) REFERENCES pipelines (organization_id, id) ON DELETE CASCADE
);
CREATE TRIGGER pipeline_stages_touch BEFORE UPDATE ON pipeline_stages
    FOR EACH ROW EXECUTE FUNCTION switchboard_touch_updated_at();

CREATE TABLE deals (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    pipeline_id UUID NOT NULL,
    stage_id UUID NOT NULL,
    contact_id UUID,
    company_id UUID,
    owner_user_id UUID REFERENCES users (id) ON DELETE SET NULL,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    value_cents BIGINT CHECK (value_cents >= 0),
    currency TEXT NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    expected_close_on DATE,
    notes TEXT,
    attributes JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    CONSTRAINT deals_pipeline_fk FOREIGN KEY (organization_id, pipeline_id)
        REFERENCES pipelines (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT deals_stage_fk FOREIGN KEY (pipeline_id, stage_id)
        REFERENCES pipeline_stages (pipeline_id, id),
    CONSTRAINT deals_contact_fk FOREIGN KEY (organization_id, contact_id)
        REFERENCES contacts (organization_id, id) ON DELETE SET NULL (contact_id),
    CONSTRAINT deals_company_fk FOREIGN KEY (organization_id, company_id)
        REFERENCES companies (organization_id, id) ON DELETE SET NULL (company_id)
);
CREATE INDEX deals_org_idx ON deals (organization_id, created_at DESC, id DESC);
CREATE INDEX deals_stage_idx ON deals (stage_id);
CREATE INDEX deals_contact_idx ON deals (organization_id, contact_id) WHERE contact_id IS NOT NULL;
CREATE TRIGGER deals_touch BEFORE UPDATE ON deals
    FOR EACH ROW EXECUTE FUNCTION switchboard_touch_updated_at();
