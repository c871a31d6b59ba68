//! Action rails: before anything is sent to a contact. Volume caps are Redis counters keyed by
//! UTC day (they live in Redis, not in the process, so a restart does not reset them); quiet
//! hours are read in the contact's own time zone; opted-out, bounced and suppressed contacts are
//! never sent to.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use redis::aio::ConnectionManager;

use super::policy::RailPolicy;
use super::suppression;
use super::{RailDecision, RailVerdict};
use crate::context::AppContext;
use crate::db::DbPool;
use crate::db::models::Contact;
use crate::domain::{ChannelKind, ContactId, OrganizationId};

/// Rail name: the contact opted out, bounced, or an address of theirs is suppressed.
pub const ACTION_SUPPRESSION: &str = "action.suppression";
/// Rail name: it is night (or whatever the window is) where the contact lives.
pub const ACTION_QUIET_HOURS: &str = "action.quiet_hours";
/// Rail name: messages to this contact today.
pub const ACTION_CONTACT_VOLUME: &str = "action.contact_volume";
/// Rail name: sends by this organisation today.
pub const ACTION_ORG_VOLUME: &str = "action.org_volume";

/// Counters outlive their day by this much, then Redis drops them.
const COUNTER_TTL_SECS: i64 = 2 * 24 * 60 * 60;

/// Why an action rail could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum RailError {
    /// Redis failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// PostgreSQL failed.
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
    /// No connection from the pool.
    #[error("database pool: {0}")]
    Pool(String),
}

/// The stateful rails (Redis counters and the contact's row). Cheap to clone.
#[derive(Clone)]
pub struct ActionRails {
    redis: ConnectionManager,
    prefix: String,
    db: DbPool,
}

impl ActionRails {
    /// Shares the context's Redis connection and pool.
    pub fn new(ctx: &AppContext) -> Self {
        Self {
            redis: ctx.redis(),
            prefix: ctx.config().redis.key_prefix.clone(),
            db: ctx.db().clone(),
        }
    }

    fn contact_key(&self, org: OrganizationId, contact: ContactId, day: &str) -> String {
        format!("{}rails:sent:contact:{org}:{contact}:{day}", self.prefix)
    }

    fn org_key(&self, org: OrganizationId, day: &str) -> String {
        format!("{}rails:sent:org:{org}:{day}", self.prefix)
    }

    /// Before an outbound send to a contact on an unknown or any channel: opt-out and
    /// suppression of any of their addresses block, then quiet hours and volume caps.
    pub async fn check_send(
        &self,
        policy: &RailPolicy,
        org: OrganizationId,
        contact: ContactId,
        now: DateTime<Utc>,
    ) -> Vec<RailVerdict> {
        self.check_send_on(policy, org, contact, None, now).await
    }

    /// Like [`check_send`](Self::check_send) for a send on `channel`: a bounced email only
    /// blocks email, a suppressed Telegram id only blocks Telegram.
    pub async fn check_send_on(
        &self,
        policy: &RailPolicy,
        org: OrganizationId,
        contact_id: ContactId,
        channel: Option<ChannelKind>,
        now: DateTime<Utc>,
    ) -> Vec<RailVerdict> {
        // The contact's row and suppression (PostgreSQL) and the volume counters (Redis) do
        // not depend on each other: one round trip to each, at the same time.
        let (contact, volume) = tokio::join!(
            self.contact_and_suppression(org, contact_id, channel),
            self.check_volume(policy, org, contact_id, now)
        );
        let (contact, suppression) = match contact {
            Ok(Some(found)) => found,
            Ok(None) => {
                return vec![RailVerdict::new(
                    ACTION_SUPPRESSION,
                    RailDecision::Block {
                        reason: "contact is not in this organisation".into(),
                    },
                )];
            }
            Err(e) => {
                return vec![unavailable(ACTION_SUPPRESSION, &e)];
            }
        };
        let mut verdicts = vec![suppression];
        verdicts.push(check_quiet_hours(policy, contact.timezone.as_deref(), now));
        verdicts.extend(volume);
        verdicts
    }

    /// The contact (`None` when not in the organisation) and the `action.suppression` verdict,
    /// on one pooled connection.
    async fn contact_and_suppression(
        &self,
        org: OrganizationId,
        contact: ContactId,
        channel: Option<ChannelKind>,
    ) -> Result<Option<(Contact, RailVerdict)>, RailError> {
        use diesel::OptionalExtension;
        let mut conn = self
            .db
            .get()
            .await
            .map_err(|e| RailError::Pool(e.to_string()))?;
        let Some(contact) = Contact::find(&mut conn, org, contact).await.optional()? else {
            return Ok(None);
        };
        let decision = match suppression_reason(&mut conn, &contact, channel).await {
            Ok(None) => RailDecision::Allow,
            Ok(Some(reason)) => RailDecision::Block { reason },
            Err(e) => {
                let verdict = unavailable(ACTION_SUPPRESSION, &e);
                return Ok(Some((contact, verdict)));
            }
        };
        Ok(Some((
            contact,
            RailVerdict::new(ACTION_SUPPRESSION, decision),
        )))
    }

    async fn check_volume(
        &self,
        policy: &RailPolicy,
        org: OrganizationId,
        contact: ContactId,
        now: DateTime<Utc>,
    ) -> Vec<RailVerdict> {
        let day = now.format("%Y-%m-%d").to_string();
        let keys = [
            self.contact_key(org, contact, &day),
            self.org_key(org, &day),
        ];
        let mut redis = self.redis.clone();
        let counts: Result<Vec<Option<u32>>, _> = redis::cmd("MGET")
            .arg(&keys[..])
            .query_async(&mut redis)
            .await;
        let counts = match counts {
            Ok(c) => c,
            Err(e) => {
                let e = RailError::from(e);
                return vec![
                    unavailable(ACTION_CONTACT_VOLUME, &e),
                    unavailable(ACTION_ORG_VOLUME, &e),
                ];
            }
        };
        let count = |i: usize| counts.get(i).copied().flatten().unwrap_or(0);
        vec![
            cap_verdict(
                ACTION_CONTACT_VOLUME,
                count(0),
                policy.max_messages_per_contact_per_day,
                "messages to this contact today",
            ),
            cap_verdict(
                ACTION_ORG_VOLUME,
                count(1),
                policy.max_sends_per_org_per_day,
                "sends by this organisation today",
            ),
        ]
    }

    /// The contact said "stop": see [`suppress_on_opt_out`](super::suppress_on_opt_out).
    pub async fn suppress_on_opt_out(
        &self,
        org: OrganizationId,
        contact: ContactId,
    ) -> Result<Option<super::OptOutOutcome>, RailError> {
        let mut conn = self
            .db
            .get()
            .await
            .map_err(|e| RailError::Pool(e.to_string()))?;
        Ok(suppression::suppress_on_opt_out(&mut conn, org, contact).await?)
    }

    /// After a send was committed: counts it against today's caps.
    pub async fn record_send(
        &self,
        org: OrganizationId,
        contact: ContactId,
    ) -> Result<(), RailError> {
        self.record_send_at(org, contact, Utc::now()).await
    }

    /// [`record_send`](Self::record_send) on the UTC day of `now`.
    pub async fn record_send_at(
        &self,
        org: OrganizationId,
        contact: ContactId,
        now: DateTime<Utc>,
    ) -> Result<(), RailError> {
        let day = now.format("%Y-%m-%d").to_string();
        let contact_key = self.contact_key(org, contact, &day);
        let org_key = self.org_key(org, &day);
        let mut redis = self.redis.clone();
        redis::pipe()
            .atomic()
            .incr(&contact_key, 1)
            .ignore()
            .expire(&contact_key, COUNTER_TTL_SECS)
            .ignore()
            .incr(&org_key, 1)
            .ignore()
            .expire(&org_key, COUNTER_TTL_SECS)
            .ignore()
            .query_async::<()>(&mut redis)
            .await?;
        Ok(())
    }
}

/// Why a send to `contact` on `channel` is suppressed, if it is.
async fn suppression_reason(
    conn: &mut diesel_async::AsyncPgConnection,
    contact: &Contact,
    channel: Option<ChannelKind>,
) -> Result<Option<String>, RailError> {
    if contact.unsubscribed_at.is_some() {
        return Ok(Some("contact opted out".into()));
    }
    if contact.bounced_at.is_some() && channel == Some(ChannelKind::Email) {
        return Ok(Some("contact's email bounced".into()));
    }
    let hits = suppression::entries_for(conn, contact).await?;
    let relevant = hits.into_iter().find(|(kind, _)| match channel {
        None => true,
        Some(ChannelKind::Email) => kind == "email",
        Some(ChannelKind::Telegram) => kind == "telegram",
        Some(ChannelKind::Web) => false,
    });
    Ok(relevant.map(|(kind, reason)| format!("contact's {kind} address is suppressed ({reason})")))
}

/// A rail that could not check fails closed.
fn unavailable(rail: &str, error: &RailError) -> RailVerdict {
    tracing::warn!(rail, error = %error, "action rail could not check; blocking");
    RailVerdict::new(
        rail,
        RailDecision::Block {
            reason: format!("could not check ({error}); not sending"),
        },
    )
}

fn cap_verdict(rail: &str, count: u32, cap: Option<u32>, what: &str) -> RailVerdict {
    let decision = match cap {
        Some(cap) if count >= cap => RailDecision::Block {
            reason: format!("{count} {what}; the cap is {cap}"),
        },
        _ => RailDecision::Allow,
    };
    RailVerdict::new(rail, decision)
}

/// `action.quiet_hours`: inside the quiet window in the contact's zone (or the policy's default
/// zone when the contact has none or an unknown one), a send waits for a human.
pub fn check_quiet_hours(
    policy: &RailPolicy,
    contact_timezone: Option<&str>,
    now: DateTime<Utc>,
) -> RailVerdict {
    let Some(quiet) = policy.quiet_hours else {
        return RailVerdict::new(ACTION_QUIET_HOURS, RailDecision::Allow);
    };
    let zone = contact_timezone
        .and_then(|name| name.parse::<Tz>().ok())
        .unwrap_or(policy.default_timezone);
    let local = now.with_timezone(&zone);
    let decision = if quiet.contains(local.time()) {
        RailDecision::NeedsApproval {
            reason: format!(
                "quiet hours {}–{} in {zone} (it is {} there)",
                quiet.start.format("%H:%M"),
                quiet.end.format("%H:%M"),
                local.format("%H:%M")
            ),
        }
    } else {
        RailDecision::Allow
    };
    RailVerdict::new(ACTION_QUIET_HOURS, decision)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rails::QuietHours;
    use chrono::{NaiveTime, TimeZone};

    fn policy() -> RailPolicy {
        RailPolicy {
            quiet_hours: Some(QuietHours {
                start: NaiveTime::from_hms_opt(21, 0, 0).expect("time"),
                end: NaiveTime::from_hms_opt(8, 0, 0).expect("time"),
            }),
            ..RailPolicy::default()
        }
    }

    #[test]
    fn quiet_hours_follow_the_contacts_zone() {
        // 20:30 UTC is 21:30 in Berlin (winter) and 15:30 in New York.
        let now = Utc
            .with_ymd_and_hms(2026, 11, 29, 20, 30, 0)
            .single()
            .expect("time");
        let berlin = check_quiet_hours(&policy(), Some("Europe/Berlin"), now);
        assert!(matches!(
            berlin.decision,
            RailDecision::NeedsApproval { .. }
        ));
        let ny = check_quiet_hours(&policy(), Some("America/New_York"), now);
        assert_eq!(ny.decision, RailDecision::Allow);
        // Unknown zone falls back to the policy default (UTC): 20:30 is not quiet.
        let unknown = check_quiet_hours(&policy(), Some("Nowhere/Land"), now);
        assert_eq!(unknown.decision, RailDecision::Allow);
        let off = check_quiet_hours(&RailPolicy::default(), Some("Europe/Berlin"), now);
        assert_eq!(off.decision, RailDecision::Allow);
    }

    #[test]
    fn caps_block_at_the_limit() {
        assert_eq!(
            cap_verdict("x", 0, Some(1), "m").decision,
            RailDecision::Allow
        );
        assert!(matches!(
            cap_verdict("x", 1, Some(1), "m").decision,
            RailDecision::Block { .. }
        ));
        assert_eq!(
            cap_verdict("x", 100, None, "m").decision,
            RailDecision::Allow
        );
    }
}
