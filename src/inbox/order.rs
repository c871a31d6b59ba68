//! Puts each organisation's events back in cursor order before the hub hands them to sessions.
//!
//! Notifications can arrive out of cursor order: two overlapping ingest batches are announced in
//! the order their messages arrived, not the order they committed, and two nodes' notifications
//! race through Redis. A session that sees cursor N+1 before N takes it as a gap and re-reads the
//! log from PostgreSQL, and every session of the organisation does so at once. Yet when N+1 is
//! here, N has already committed (cursors are drawn under the organisation's row lock, held to
//! commit), so its notification is only moments behind. The hub therefore holds an early event
//! back for a short window and releases it as soon as the gap fills; only a gap that outlives the
//! window (a lost notification) reaches the sessions, which then catch up from the database.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::InboxEvent;
use crate::domain::OrganizationId;

/// How long an early event waits for the ones before it.
pub(super) const REORDER_WINDOW: Duration = Duration::from_millis(25);

/// Per organisation, the cursor expected next and the events that came before their turn.
#[derive(Default)]
pub(super) struct CursorOrder {
    organizations: Mutex<HashMap<OrganizationId, Pending>>,
}

struct Pending {
    next: i64,
    early: BTreeMap<i64, Arc<InboxEvent>>,
    flush_scheduled: bool,
}

/// What became of an admitted event.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Admitted {
    /// Released now (with any held events it unblocked).
    Released,
    /// Held back; the caller must call [`CursorOrder::flush`] after [`REORDER_WINDOW`].
    HeldScheduleFlush,
    /// Held back; a flush is already scheduled.
    Held,
}

impl CursorOrder {
    /// Takes an event and releases, through `release` and in cursor order, whatever is now in
    /// order. `release` runs under the order's lock, so releases never interleave.
    pub(super) fn admit(
        &self,
        organization: OrganizationId,
        event: Arc<InboxEvent>,
        mut release: impl FnMut(Arc<InboxEvent>),
    ) -> Admitted {
        let Ok(mut organizations) = self.organizations.lock() else {
            release(event);
            return Admitted::Released;
        };
        let pending = organizations
            .entry(organization)
            .or_insert_with(|| Pending {
                next: event.seq,
                early: BTreeMap::new(),
                flush_scheduled: false,
            });
        if event.seq < pending.next {
            // Already past it (a repeat, or released by a flush): sessions skip what they have.
            release(event);
            return Admitted::Released;
        }
        if event.seq > pending.next {
            pending.early.insert(event.seq, event);
            metrics::counter!("inbox_events_held_total").increment(1);
            if pending.flush_scheduled {
                return Admitted::Held;
            }
            pending.flush_scheduled = true;
            return Admitted::HeldScheduleFlush;
        }
        pending.next = event.seq + 1;
        release(event);
        while let Some(entry) = pending.early.first_entry() {
            if *entry.key() != pending.next {
                break;
            }
            pending.next += 1;
            release(entry.remove());
        }
        Admitted::Released
    }

    /// Releases everything still held for the organisation, in cursor order, past any gap: the
    /// missing events' notifications were lost, and sessions will read them from the database.
    pub(super) fn flush(
        &self,
        organization: OrganizationId,
        mut release: impl FnMut(Arc<InboxEvent>),
    ) {
        let Ok(mut organizations) = self.organizations.lock() else {
            return;
        };
        let Some(pending) = organizations.get_mut(&organization) else {
            return;
        };
        pending.flush_scheduled = false;
        if !pending.early.is_empty() {
            metrics::counter!("inbox_event_gaps_total").increment(1);
        }
        for (seq, event) in std::mem::take(&mut pending.early) {
            pending.next = seq + 1;
            release(event);
        }
    }

    /// Forgets every organisation (sessions are re-reading the log after lost notifications).
    pub(super) fn clear(&self) {
        if let Ok(mut organizations) = self.organizations.lock() {
            organizations.clear();
        }
    }

    /// Forgets an organisation (its last session left): its next event starts a new order.
    pub(super) fn forget(&self, organization: OrganizationId) {
        if let Ok(mut organizations) = self.organizations.lock() {
            organizations.remove(&organization);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::models::Event;

    fn event(organization: OrganizationId, seq: i64) -> Arc<InboxEvent> {
        Arc::new(InboxEvent::from(&Event {
            organization_id: organization,
            seq,
            event_type: "message.created".into(),
            chat_id: None,
            payload: serde_json::json!({}),
            created_at: chrono::Utc::now(),
        }))
    }

    fn admit(order: &CursorOrder, org: OrganizationId, seq: i64) -> (Admitted, Vec<i64>) {
        let mut released = Vec::new();
        let admitted = order.admit(org, event(org, seq), |e| released.push(e.seq));
        (admitted, released)
    }

    #[test]
    fn events_in_order_pass_straight_through() {
        let order = CursorOrder::default();
        let org = OrganizationId::new();
        for seq in 7..10 {
            assert_eq!(admit(&order, org, seq), (Admitted::Released, vec![seq]));
        }
    }

    #[test]
    fn an_early_event_waits_for_the_one_before_it() {
        let order = CursorOrder::default();
        let org = OrganizationId::new();
        admit(&order, org, 1);
        assert_eq!(admit(&order, org, 3), (Admitted::HeldScheduleFlush, vec![]));
        assert_eq!(admit(&order, org, 4), (Admitted::Held, vec![]));
        assert_eq!(admit(&order, org, 2), (Admitted::Released, vec![2, 3, 4]));
        assert_eq!(admit(&order, org, 5), (Admitted::Released, vec![5]));
    }

    #[test]
    fn a_flush_releases_past_a_gap_and_later_stragglers_still_pass() {
        let order = CursorOrder::default();
        let org = OrganizationId::new();
        admit(&order, org, 1);
        admit(&order, org, 4);
        admit(&order, org, 3);
        let mut released = Vec::new();
        order.flush(org, |e| released.push(e.seq));
        assert_eq!(released, [3, 4]);
        // The lost 2 turns up late: passed on (the sessions already read it from the database
        // and skip it); 5 follows without waiting, and a new gap schedules a new flush.
        assert_eq!(admit(&order, org, 2), (Admitted::Released, vec![2]));
        assert_eq!(admit(&order, org, 5), (Admitted::Released, vec![5]));
        assert_eq!(admit(&order, org, 7), (Admitted::HeldScheduleFlush, vec![]));
    }

    #[test]
    fn organisations_are_ordered_apart() {
        let order = CursorOrder::default();
        let (a, b) = (OrganizationId::new(), OrganizationId::new());
        admit(&order, a, 10);
        assert_eq!(admit(&order, b, 1), (Admitted::Released, vec![1]));
        assert_eq!(admit(&order, a, 12), (Admitted::HeldScheduleFlush, vec![]));
        assert_eq!(admit(&order, b, 2), (Admitted::Released, vec![2]));
        order.forget(a);
        assert_eq!(admit(&order, a, 12), (Admitted::Released, vec![12]));
    }
}
