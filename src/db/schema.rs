// @generated automatically by Diesel CLI.

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    agent_executions (id) {
        id -> Uuid,
        organization_id -> Uuid,
        agent_id -> Nullable<Uuid>,
        chat_id -> Nullable<Uuid>,
        message_id -> Nullable<Uuid>,
        trigger -> Text,
        status -> Text,
        inputs -> Jsonb,
        outputs -> Jsonb,
        tool_calls -> Jsonb,
        guardrail_decisions -> Jsonb,
        prompt_tokens -> Int4,
        completion_tokens -> Int4,
        latency_ms -> Nullable<Int4>,
        error -> Nullable<Text>,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    agent_memories (id) {
        id -> Uuid,
        organization_id -> Uuid,
        contact_id -> Uuid,
        agent_id -> Nullable<Uuid>,
        kind -> Text,
        content -> Text,
        embedding -> Nullable<Vector>,
        source_message_id -> Nullable<Uuid>,
        metadata -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    ai_agent_origins (organization_id, source_file) {
        organization_id -> Uuid,
        source_file -> Text,
        agent_id -> Nullable<Uuid>,
        definition_hash -> Text,
        overridden_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    ai_agents (id) {
        id -> Uuid,
        organization_id -> Uuid,
        name -> Text,
        kind -> Text,
        description -> Text,
        model -> Text,
        temperature -> Float4,
        max_tokens -> Int4,
        prompt_template -> Text,
        tools -> Array<Text>,
        guardrails -> Jsonb,
        autonomy -> Text,
        memory -> Jsonb,
        budgets -> Jsonb,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    api_keys (id) {
        id -> Uuid,
        organization_id -> Uuid,
        name -> Text,
        prefix -> Text,
        key_hash -> Bytea,
        scopes -> Array<Text>,
        created_by -> Nullable<Uuid>,
        last_used_at -> Nullable<Timestamptz>,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    audit_logs (id) {
        id -> Uuid,
        organization_id -> Uuid,
        actor_kind -> Text,
        actor_id -> Nullable<Uuid>,
        action -> Text,
        resource_type -> Text,
        resource_id -> Nullable<Uuid>,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
        request_id -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    campaign_recipients (id) {
        id -> Uuid,
        organization_id -> Uuid,
        campaign_id -> Uuid,
        contact_id -> Uuid,
        status -> Text,
        current_step -> Int4,
        next_send_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    campaign_steps (id) {
        id -> Uuid,
        organization_id -> Uuid,
        campaign_id -> Uuid,
        position -> Int4,
        delay_seconds -> Int8,
        template_id -> Nullable<Uuid>,
        subject -> Nullable<Text>,
        body -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    campaigns (id) {
        id -> Uuid,
        organization_id -> Uuid,
        name -> Text,
        description -> Text,
        status -> Text,
        channel_id -> Nullable<Uuid>,
        agent_id -> Nullable<Uuid>,
        audience -> Jsonb,
        settings -> Jsonb,
        starts_at -> Nullable<Timestamptz>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    channels (id) {
        id -> Uuid,
        organization_id -> Uuid,
        kind -> Text,
        name -> Text,
        settings -> Jsonb,
        secret_refs -> Jsonb,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    chats (id) {
        id -> Uuid,
        organization_id -> Uuid,
        contact_id -> Uuid,
        channel_id -> Uuid,
        external_thread_id -> Text,
        subject -> Nullable<Text>,
        status -> Text,
        snoozed_until -> Nullable<Timestamptz>,
        assigned_user_id -> Nullable<Uuid>,
        assigned_agent_id -> Nullable<Uuid>,
        autonomy -> Text,
        last_message_at -> Nullable<Timestamptz>,
        last_message_preview -> Nullable<Text>,
        unread_count -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        turn_fence -> Int8,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    companies (id) {
        id -> Uuid,
        organization_id -> Uuid,
        name -> Text,
        domain -> Nullable<Text>,
        industry -> Nullable<Text>,
        size -> Nullable<Text>,
        website -> Nullable<Text>,
        description -> Nullable<Text>,
        attributes -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    contacts (id) {
        id -> Uuid,
        organization_id -> Uuid,
        company_id -> Nullable<Uuid>,
        name -> Text,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        telegram_user_id -> Nullable<Int8>,
        telegram_chat_id -> Nullable<Int8>,
        telegram_username -> Nullable<Text>,
        title -> Nullable<Text>,
        tags -> Array<Text>,
        attributes -> Jsonb,
        timezone -> Nullable<Text>,
        source -> Nullable<Text>,
        unsubscribed_at -> Nullable<Timestamptz>,
        bounced_at -> Nullable<Timestamptz>,
        unreachable_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    deals (id) {
        id -> Uuid,
        organization_id -> Uuid,
        pipeline_id -> Uuid,
        stage_id -> Uuid,
        contact_id -> Nullable<Uuid>,
        company_id -> Nullable<Uuid>,
        owner_user_id -> Nullable<Uuid>,
        name -> Text,
        value_cents -> Nullable<Int8>,
        currency -> Text,
        expected_close_on -> Nullable<Date>,
        notes -> Nullable<Text>,
        attributes -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    email_poll_state (channel_id) {
        channel_id -> Uuid,
        organization_id -> Uuid,
        mailbox -> Text,
        uid_validity -> Int8,
        last_uid -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    events (organization_id, seq) {
        organization_id -> Uuid,
        seq -> Int8,
        event_type -> Text,
        chat_id -> Nullable<Uuid>,
        payload -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    idempotency_keys (organization_id, key) {
        organization_id -> Uuid,
        key -> Text,
        method -> Text,
        path -> Text,
        request_hash -> Bytea,
        response_status -> Nullable<Int2>,
        response_body -> Nullable<Bytea>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    messages (id) {
        id -> Uuid,
        organization_id -> Uuid,
        chat_id -> Uuid,
        channel_id -> Uuid,
        direction -> Text,
        sender_kind -> Text,
        sender_user_id -> Nullable<Uuid>,
        sender_agent_id -> Nullable<Uuid>,
        body -> Text,
        status -> Text,
        draft_state -> Nullable<Text>,
        external_id -> Nullable<Text>,
        reply_to_message_id -> Nullable<Uuid>,
        attachments -> Jsonb,
        metadata -> Jsonb,
        sent_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    organization_members (id) {
        id -> Uuid,
        organization_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    organizations (id) {
        id -> Uuid,
        name -> Text,
        slug -> Text,
        settings -> Jsonb,
        event_seq -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    outbox (id) {
        id -> Uuid,
        organization_id -> Uuid,
        kind -> Text,
        ordering_key -> Nullable<Text>,
        payload -> Jsonb,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        idempotency_key -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    pipeline_stages (id) {
        id -> Uuid,
        organization_id -> Uuid,
        pipeline_id -> Uuid,
        name -> Text,
        position -> Int4,
        probability -> Int4,
        outcome -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    pipelines (id) {
        id -> Uuid,
        organization_id -> Uuid,
        name -> Text,
        is_default -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    pitch_job_items (job_id, contact_id) {
        job_id -> Uuid,
        contact_id -> Uuid,
        position -> Int4,
        status -> Text,
        pitch_id -> Nullable<Uuid>,
        cached -> Bool,
        error -> Nullable<Text>,
        attempts -> Int4,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    pitch_jobs (id) {
        id -> Uuid,
        organization_id -> Uuid,
        status -> Text,
        total -> Int4,
        done -> Int4,
        failed -> Int4,
        settings -> Jsonb,
        created_by -> Nullable<Uuid>,
        error -> Nullable<Text>,
        lease_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    pitches (id) {
        id -> Uuid,
        organization_id -> Uuid,
        contact_id -> Uuid,
        template_id -> Nullable<Uuid>,
        agent -> Text,
        fingerprint -> Text,
        settings -> Jsonb,
        subject -> Nullable<Text>,
        body -> Text,
        model -> Text,
        prompt_tokens -> Int4,
        completion_tokens -> Int4,
        review_reason -> Nullable<Text>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    refresh_tokens (id) {
        id -> Uuid,
        organization_id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    suppression_list (id) {
        id -> Uuid,
        organization_id -> Uuid,
        address_kind -> Text,
        address -> Text,
        reason -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    telegram_poll_offsets (channel_id) {
        channel_id -> Uuid,
        organization_id -> Uuid,
        confirmed_offset -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    templates (id) {
        id -> Uuid,
        organization_id -> Uuid,
        name -> Text,
        kind -> Text,
        subject -> Nullable<Text>,
        body -> Text,
        settings -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    tool_approvals (id) {
        id -> Uuid,
        organization_id -> Uuid,
        chat_id -> Uuid,
        contact_id -> Uuid,
        agent_id -> Nullable<Uuid>,
        execution_id -> Uuid,
        tool -> Text,
        arguments -> Jsonb,
        status -> Text,
        result -> Nullable<Jsonb>,
        decided_by -> Nullable<Uuid>,
        decided_at -> Nullable<Timestamptz>,
        decision_note -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    usage_logs (id) {
        id -> Uuid,
        organization_id -> Uuid,
        metric -> Text,
        quantity -> Int8,
        metadata -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    users (id) {
        id -> Uuid,
        email -> Text,
        name -> Text,
        password_hash -> Nullable<Text>,
        disabled_at -> Nullable<Timestamptz>,
        last_login_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    webhook_deliveries (id) {
        id -> Uuid,
        organization_id -> Uuid,
        webhook_id -> Uuid,
        event_type -> Text,
        payload -> Jsonb,
        status -> Text,
        attempts -> Int4,
        response_status -> Nullable<Int4>,
        response_body -> Nullable<Text>,
        next_attempt_at -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    webhooks (id) {
        id -> Uuid,
        organization_id -> Uuid,
        url -> Text,
        description -> Text,
        events -> Array<Text>,
        secret -> Text,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(agent_executions -> organizations (organization_id));
diesel::joinable!(agent_memories -> organizations (organization_id));
diesel::joinable!(ai_agent_origins -> organizations (organization_id));
diesel::joinable!(ai_agents -> organizations (organization_id));
diesel::joinable!(api_keys -> organizations (organization_id));
diesel::joinable!(api_keys -> users (created_by));
diesel::joinable!(audit_logs -> organizations (organization_id));
diesel::joinable!(campaigns -> organizations (organization_id));
diesel::joinable!(campaigns -> users (created_by));
diesel::joinable!(channels -> organizations (organization_id));
diesel::joinable!(chats -> organizations (organization_id));
diesel::joinable!(chats -> users (assigned_user_id));
diesel::joinable!(companies -> organizations (organization_id));
diesel::joinable!(contacts -> organizations (organization_id));
diesel::joinable!(deals -> organizations (organization_id));
diesel::joinable!(deals -> users (owner_user_id));
diesel::joinable!(email_poll_state -> channels (channel_id));
diesel::joinable!(email_poll_state -> organizations (organization_id));
diesel::joinable!(events -> organizations (organization_id));
diesel::joinable!(idempotency_keys -> organizations (organization_id));
diesel::joinable!(messages -> organizations (organization_id));
diesel::joinable!(messages -> users (sender_user_id));
diesel::joinable!(organization_members -> organizations (organization_id));
diesel::joinable!(organization_members -> users (user_id));
diesel::joinable!(outbox -> organizations (organization_id));
diesel::joinable!(pipelines -> organizations (organization_id));
diesel::joinable!(pitch_job_items -> pitch_jobs (job_id));
diesel::joinable!(pitch_job_items -> pitches (pitch_id));
diesel::joinable!(pitch_jobs -> organizations (organization_id));
diesel::joinable!(pitches -> organizations (organization_id));
diesel::joinable!(refresh_tokens -> organizations (organization_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(suppression_list -> organizations (organization_id));
diesel::joinable!(telegram_poll_offsets -> channels (channel_id));
diesel::joinable!(telegram_poll_offsets -> organizations (organization_id));
diesel::joinable!(templates -> organizations (organization_id));
diesel::joinable!(tool_approvals -> organizations (organization_id));
diesel::joinable!(tool_approvals -> users (decided_by));
diesel::joinable!(usage_logs -> organizations (organization_id));
diesel::joinable!(webhooks -> organizations (organization_id));

diesel::allow_tables_to_appear_in_same_query!(
    agent_executions,
    agent_memories,
    ai_agent_origins,
    ai_agents,
    api_keys,
    audit_logs,
    campaign_recipients,
    campaign_steps,
    campaigns,
    channels,
    chats,
    companies,
    contacts,
    deals,
    email_poll_state,
    events,
    idempotency_keys,
    messages,
    organization_members,
    organizations,
    outbox,
    pipeline_stages,
    pipelines,
    pitch_job_items,
    pitch_jobs,
    pitches,
    refresh_tokens,
    suppression_list,
    telegram_poll_offsets,
    templates,
    tool_approvals,
    usage_logs,
    users,
    webhook_deliveries,
    webhooks,
);
