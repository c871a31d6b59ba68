//! The supervisor's single call sites for the rails (`crate::rails`): the agent's policy, the
//! input rails on the contact's words, the output rails on the model's reply, and the action
//! rails before a reply is sent. Each returns the named verdicts; the supervisor logs all of them
//! in `agent_executions.guardrail_decisions` and acts on the most severe.

use std::collections::BTreeMap;

use crate::rails::{
    OutputFacts, RailConfigError, RailPolicy, RailVerdict, check_input, check_output,
};

/// The agent's rail policy from its `ai_agents.guardrails` JSON (same keys as `[guardrails]`).
pub fn policy(guardrails: &serde_json::Value) -> Result<RailPolicy, RailConfigError> {
    RailPolicy::from_layers(&BTreeMap::new(), guardrails)
}

/// Rails on the contact's words, before the model sees them.
pub fn input(policy: &RailPolicy, contact_text: &str) -> Vec<RailVerdict> {
    check_input(policy, contact_text)
}

/// Rails on the model's reply, before anything reaches the contact.
pub fn output(policy: &RailPolicy, facts: &OutputFacts, reply: &str) -> Vec<RailVerdict> {
    check_output(policy, facts, reply)
}
