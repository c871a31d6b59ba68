//! `remember` and `search_memory`: long-term memory of the chat's contact, through
//! `memory::LongTermMemory` (embeddings from the configured model, recall filtered by
//! organisation and contact, so a fact learned on one channel is recalled on another).

use serde_json::{Value, json};

use super::args::{RememberArgs, SearchMemoryArgs};
use super::{ToolError, ToolScope};
use crate::domain::MemoryKind;
use crate::memory::{LongTermError, LongTermMemory};

/// Recall size when the model gives none.
const DEFAULT_K: u32 = 5;

fn failed(e: LongTermError) -> ToolError {
    match e {
        LongTermError::InvalidContent => ToolError::rejected("invalid_arguments", e.to_string()),
        other => ToolError::Dependency(other.to_string()),
    }
}

/// `remember`.
pub async fn remember(
    memory: &LongTermMemory,
    scope: &ToolScope,
    args: &RememberArgs,
) -> Result<Value, ToolError> {
    let kind: MemoryKind = args.kind.parse().map_err(|_| {
        ToolError::rejected(
            "invalid_arguments",
            "kind must be fact, preference or summary",
        )
    })?;
    let stored = memory
        .remember(
            scope.organization_id,
            scope.contact_id,
            scope.agent_id,
            kind,
            &args.content,
            None,
        )
        .await
        .map_err(failed)?;
    Ok(json!({ "remembered": true, "memory_id": stored.id }))
}

/// `search_memory`.
pub async fn search_memory(
    memory: &LongTermMemory,
    scope: &ToolScope,
    args: &SearchMemoryArgs,
) -> Result<Value, ToolError> {
    let k = usize::try_from(args.k.unwrap_or(DEFAULT_K)).unwrap_or(5);
    let found = memory
        .recall(scope.organization_id, scope.contact_id, &args.query, k)
        .await
        .map_err(failed)?;
    let items: Vec<Value> = found
        .iter()
        .map(|r| {
            json!({
                "kind": r.memory.kind,
                "content": r.memory.content,
                "similarity": (r.similarity * 1000.0).round() / 1000.0,
            })
        })
        .collect();
    Ok(json!({ "memories": items }))
}
