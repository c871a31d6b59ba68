//! Per-agent caches of what a turn would otherwise re-derive from the agent's row on every turn:
//! its compiled prompt template and its parsed rail policy. An entry is keyed by the agent and
//! remembers the source it was built from; a turn whose agent row carries a different source
//! (the agent was edited) rebuilds and replaces it, so a cache never serves a stale version and
//! holds at most one entry per agent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::domain::AgentId;

/// Built values of type `V` per agent, each with the source `S` it was built from.
pub struct PerAgent<S, V> {
    entries: Mutex<HashMap<AgentId, (S, Arc<V>)>>,
}

impl<S, V> Default for PerAgent<S, V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<S: PartialEq + Clone, V> PerAgent<S, V> {
    /// The value built from `source` for `agent`: the cached one when the source is unchanged,
    /// otherwise `build(source)` (outside the lock; a failure is returned and not cached).
    pub fn get_or_build<E>(
        &self,
        agent: AgentId,
        source: &S,
        build: impl FnOnce(&S) -> Result<V, E>,
    ) -> Result<Arc<V>, E> {
        if let Some((cached_source, value)) = self.lock().get(&agent)
            && cached_source == source
        {
            return Ok(value.clone());
        }
        let value = Arc::new(build(source)?);
        self.lock().insert(agent, (source.clone(), value.clone()));
        Ok(value)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<AgentId, (S, Arc<V>)>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilds_only_when_the_source_changes() {
        let cache = PerAgent::<String, usize>::default();
        let agent = AgentId::new();
        let mut builds = 0;
        let mut build = |s: &String| {
            builds += 1;
            Ok::<_, ()>(s.len())
        };
        assert_eq!(
            *cache
                .get_or_build(agent, &"abc".into(), &mut build)
                .expect("built"),
            3
        );
        assert_eq!(
            *cache
                .get_or_build(agent, &"abc".into(), &mut build)
                .expect("cached"),
            3
        );
        assert_eq!(
            *cache
                .get_or_build(agent, &"abcd".into(), &mut build)
                .expect("rebuilt"),
            4
        );
        assert_eq!(builds, 2);
        let failed = cache.get_or_build(AgentId::new(), &"x".into(), |_| Err::<usize, _>("bad"));
        assert_eq!(failed.err(), Some("bad"));
    }
}
