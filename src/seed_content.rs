//! The demo workspace's sample data: companies, contacts, a sales pipeline with deals, the
//! channels of `channels/*.toml`, a pitch template and one conversation assigned to the SDR
//! agent (the agents of `agents/*.toml` come from provisioning, like every organisation's), so
//! there is something to click through right away.

use diesel_async::AsyncPgConnection;
use std::collections::BTreeMap;

use crate::config::PathsConfig;
use crate::db::models::*;
use crate::db::pagination::PageRequest;
use crate::domain::*;

struct DemoCompany {
    name: &'static str,
    domain: &'static str,
    industry: &'static str,
    people: &'static [(&'static str, &'static str, &'static str)],
}

const COMPANIES: &[DemoCompany] = &[
    DemoCompany {
        name: "Northwind Logistics",
        domain: "northwind.example",
        industry: "Logistics",
        people: &[
            (
                "Maria Anders",
                "maria@northwind.example",
                "Head of Operations",
            ),
            ("Tom Berglund", "tom@northwind.example", "CFO"),
        ],
    },
    DemoCompany {
        name: "Contoso Health",
        domain: "contoso.example",
        industry: "Healthcare",
        people: &[
            ("Priya Raman", "priya@contoso.example", "VP Sales"),
            ("Lee Chen", "lee@contoso.example", "IT Director"),
        ],
    },
    DemoCompany {
        name: "Fabrikam Retail",
        domain: "fabrikam.example",
        industry: "Retail",
        people: &[("Sofia Rossi", "sofia@fabrikam.example", "E-commerce Lead")],
    },
];

const STAGES: &[(&str, i32, StageOutcome)] = &[
    ("New lead", 5, StageOutcome::Open),
    ("Qualified", 20, StageOutcome::Open),
    ("Meeting booked", 40, StageOutcome::Open),
    ("Proposal", 60, StageOutcome::Open),
    ("Negotiation", 80, StageOutcome::Open),
    ("Won", 100, StageOutcome::Won),
    ("Lost", 0, StageOutcome::Lost),
];

/// Inserts the sample data for a fresh demo organisation.
pub async fn seed_demo_content(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
    paths: &PathsConfig,
) -> anyhow::Result<()> {
    let mut contacts = Vec::new();
    for company in COMPANIES {
        let row = Company::create(
            conn,
            &CompanyInsertForm {
                id: CompanyId::new(),
                organization_id: org,
                name: company.name.into(),
                domain: Some(company.domain.into()),
                industry: Some(company.industry.into()),
                size: None,
                website: Some(format!("https://{}", company.domain)),
                description: None,
                attributes: serde_json::json!({}),
            },
        )
        .await?;
        for (name, email, title) in company.people {
            let contact = Contact::create(
                conn,
                &ContactInsertForm {
                    id: ContactId::new(),
                    organization_id: org,
                    company_id: Some(row.id),
                    name: (*name).into(),
                    email: Some((*email).into()),
                    title: Some((*title).into()),
                    tags: vec!["demo".into()],
                    attributes: serde_json::json!({}),
                    timezone: Some("Europe/Berlin".into()),
                    source: Some("demo".into()),
                    ..Default::default()
                },
            )
            .await?;
            contacts.push((contact, row.id));
        }
    }

    let pipeline = Pipeline::create(
        conn,
        &PipelineInsertForm {
            id: PipelineId::new(),
            organization_id: org,
            name: "Sales".into(),
            is_default: true,
        },
    )
    .await?;
    let mut stages = Vec::new();
    for (position, (name, probability, outcome)) in STAGES.iter().enumerate() {
        stages.push(
            PipelineStage::create(
                conn,
                &PipelineStageInsertForm {
                    id: StageId::new(),
                    organization_id: org,
                    pipeline_id: pipeline.id,
                    name: (*name).into(),
                    position: position as i32,
                    probability: *probability,
                    outcome: *outcome,
                },
            )
            .await?,
        );
    }
    for (index, (contact, company)) in contacts.iter().enumerate() {
        Deal::create(
            conn,
            &DealInsertForm {
                id: DealId::new(),
                organization_id: org,
                pipeline_id: pipeline.id,
                stage_id: stages[index % 5].id,
                contact_id: Some(contact.id),
                company_id: Some(*company),
                owner_user_id: None,
                name: format!("{} pilot", contact.name),
                value_cents: Some(1_200_000 + 350_000 * index as i64),
                currency: "EUR".into(),
                expected_close_on: None,
                notes: None,
                attributes: serde_json::json!({}),
            },
        )
        .await?;
    }

    let mut web_channel = None;
    let (channels, _) = crate::channels::load_dir(&paths.channels_dir);
    for loaded in channels {
        let definition = loaded.definition;
        let secret_refs: BTreeMap<_, _> = definition.secrets.clone();
        let channel = Channel::create(
            conn,
            &ChannelInsertForm {
                id: ChannelId::new(),
                organization_id: org,
                kind: definition.kind,
                name: definition.name.clone(),
                settings: serde_json::to_value(&definition.settings)?,
                secret_refs: serde_json::to_value(&secret_refs)?,
                active: definition.active,
            },
        )
        .await?;
        if definition.kind == ChannelKind::Web {
            web_channel = Some(channel);
        }
    }

    // The file agents were provisioned with the organisation; the demo chat is the SDR's.
    let sdr = AiAgent::list(
        conn,
        org,
        &AiAgentFilter {
            kind: Some(AgentKind::Sdr),
            active: Some(true),
        },
        PageRequest {
            limit: 1,
            after: None,
        },
    )
    .await?
    .items
    .first()
    .map(|agent| agent.id);

    Template::create(conn, &TemplateInsertForm {
        id: TemplateId::new(),
        organization_id: org,
        name: "Intro pitch".into(),
        kind: TemplateKind::Pitch,
        subject: None,
        body: "Hi {{contact.first_name}}, teams like {{contact.company.name}} use us to answer every lead within a minute. Worth a 15-minute call?".into(),
        settings: serde_json::json!({"tone": "friendly", "length": "short", "focus": "speed of response"}),
    })
    .await?;

    if let (Some(channel), Some((contact, _))) = (web_channel, contacts.first()) {
        let chat = Chat::create(
            conn,
            &ChatInsertForm {
                id: ChatId::new(),
                organization_id: org,
                contact_id: contact.id,
                channel_id: channel.id,
                external_thread_id: format!("demo-{}", contact.id),
                subject: Some("Pricing question".into()),
            },
        )
        .await?;
        // The SDR agent drafts in this chat for an operator to approve.
        if let Some(agent) = sdr {
            Chat::assign(
                conn,
                org,
                chat.id,
                &ChatAssignment {
                    assigned_user_id: None,
                    assigned_agent_id: Some(agent),
                },
            )
            .await?;
            Chat::update(
                conn,
                org,
                chat.id,
                &ChatUpdateForm {
                    autonomy: Some(Autonomy::Draft),
                    ..Default::default()
                },
            )
            .await?;
        }
        let lines = [
            (
                Direction::Inbound,
                SenderKind::Contact,
                "Hi! Do you offer volume pricing for 40 seats?",
            ),
            (
                Direction::Outbound,
                SenderKind::Operator,
                "Hi Maria, yes: from 25 seats the price drops by 20%. Shall I send a quote?",
            ),
            (
                Direction::Inbound,
                SenderKind::Contact,
                "Please do, and can we start with a pilot for one team?",
            ),
        ];
        for (direction, sender_kind, body) in lines {
            let message = Message::create(
                conn,
                &MessageInsertForm {
                    id: MessageId::new(),
                    organization_id: org,
                    chat_id: chat.id,
                    channel_id: channel.id,
                    direction,
                    sender_kind,
                    sender_user_id: None,
                    sender_agent_id: None,
                    body: body.into(),
                    status: if direction == Direction::Inbound {
                        MessageStatus::Received
                    } else {
                        MessageStatus::Sent
                    },
                    draft_state: None,
                    external_id: None,
                    reply_to_message_id: None,
                },
            )
            .await?;
            Chat::record_message(
                conn,
                org,
                chat.id,
                message.created_at,
                &message::preview(body),
                i32::from(direction == Direction::Inbound),
            )
            .await?;
        }
    }
    Ok(())
}
