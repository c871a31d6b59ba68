-- Generated pitches, cached per contact by a fingerprint of the contact's data and the
-- generator's configuration: the same fingerprint within `expires_at` is answered from here.
CREATE TABLE pitches (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    contact_id UUID NOT NULL,
    template_id UUID,
    agent TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    settings JSONB NOT NULL DEFAULT '{}',
    subject TEXT,
    body TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt_tokens INT NOT NULL DEFAULT 0,
    completion_tokens INT NOT NULL DEFAULT 0,
    review_reason TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    UNIQUE (organization_id, id),
    UNIQUE (organization_id, contact_id, fingerprint),
    CONSTRAINT pitches_contact_fk FOREIGN KEY (organization_id, contact_id)
        REFERENCES contacts (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX pitches_contact_idx ON pitches (organization_id, contact_id, created_at);
CREATE INDEX pitches_org_idx ON pitches (organization_id, created_at);

-- A batch of pitches generated in the background. `done` counts finished items (generated or
-- failed), `failed` those of them that failed. A worker holds the job while `lease_until` is
-- in the future; a job whose lease ran out (its node died) is resumed by the next node to start.
CREATE TABLE pitch_jobs (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    status TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    total INT NOT NULL,
    done INT NOT NULL DEFAULT 0,
    failed INT NOT NULL DEFAULT 0,
    settings JSONB NOT NULL DEFAULT '{}',
    created_by UUID,
    error TEXT,
    lease_until TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id)
);
CREATE INDEX pitch_jobs_org_idx ON pitch_jobs (organization_id, created_at);
CREATE INDEX pitch_jobs_unfinished_idx ON pitch_jobs (lease_until)
    WHERE status IN ('queued', 'running');
CREATE TRIGGER pitch_jobs_touch BEFORE UPDATE ON pitch_jobs
    FOR EACH ROW EXECUTE FUNCTION switchboard_touch_updated_at();

-- One contact of a batch.
CREATE TABLE pitch_job_items (
    job_id UUID NOT NULL REFERENCES pitch_jobs (id) ON DELETE CASCADE,
    contact_id UUID NOT NULL,
    position INT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    pitch_id UUID REFERENCES pitches (id) ON DELETE SET NULL,
    cached BOOLEAN NOT NULL DEFAULT false,
    error TEXT,
    attempts INT NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, contact_id)
);
