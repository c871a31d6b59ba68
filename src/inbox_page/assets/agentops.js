// What the page shows about the AI agents at work: a "Degraded" tag on chats whose agent cannot
// reach its model (the agents API says so), the agent's logged decision (its reason and the
// rails' verdicts) next to the draft it produced, a note where the chat was handed to a human,
// and what the agents remember about the contact, with delete.

import { h, icon } from './dom.js';
import { store } from './store.js';

let bound = { api: null, render: () => {}, toast: () => {} };

/** Gives this module the page's REST client, re-render and toast. */
export function bindAgentOps(api, render, toast) {
  bound = { api, render, toast };
}

/** The chat's agent when it is degraded, else null. */
export function degradedAgent(chat) {
  const agent = chat?.assigned_agent_id ? store.agents.get(chat.assigned_agent_id) : null;
  return agent && agent.status === 'degraded' ? agent : null;
}

/** The list row's tag for a chat whose agent is degraded. */
export function degradedTag(chat) {
  const agent = degradedAgent(chat);
  if (!agent) return null;
  return h('span', { class: 'tag tag-degraded', title: agent.status_reason || 'AI agent degraded' }, icon('alert'), 'Degraded');
}

/** Loads the open chat's logged agent decisions and its contact's memories. */
export async function loadAgentFacts(view, contactId) {
  const { api } = bound;
  if (!api) return;
  const [executions, memories] = await Promise.all([
    api.get(`/api/v1/chats/${view.chatId}/executions`).then((r) => r.items).catch(() => []),
    contactId
      ? api.get(`/api/v1/contacts/${contactId}/memories?limit=50`).then((p) => p.items).catch(() => [])
      : Promise.resolve([]),
  ]);
  // A decision that arrived live while this loaded is kept, whichever answer is older.
  view.executions = (view.executions || []).reduce(withExecution, executions);
  view.memories = memories;
  view.memoriesOf = contactId;
}

/** `executions` (newest first) with `execution` in its place, replacing an older copy. */
function withExecution(executions, execution) {
  if (!execution?.id) return executions;
  const rest = executions.filter((e) => e.id !== execution.id);
  const at = rest.findIndex((e) => (e.created_at || '') < (execution.created_at || ''));
  rest.splice(at < 0 ? rest.length : at, 0, execution);
  return rest;
}

/**
 * A live event's logged decision (`data.execution` of `draft.created` and of a hand-off's
 * `chat.updated`): the open conversation of its chat shows it at once, without asking again.
 */
export function noteExecution(view, chatId, execution) {
  if (!view || !execution || view.chatId !== chatId) return false;
  view.executions = withExecution(view.executions || [], execution);
  return true;
}

/** The logged turn that produced `draft` (it answered the draft's `reply_to_message_id`). */
export function executionFor(draft, view) {
  return (view.executions || []).find(
    (e) => e.status === 'drafted' && draft.reply_to_message_id && e.message_id === draft.reply_to_message_id,
  ) || null;
}

/** "Why this draft": the decision's reason and every rail that did not simply allow. */
export function decisionNote(execution) {
  if (!execution) return null;
  const verdicts = Array.isArray(execution.guardrail_decisions) ? execution.guardrail_decisions : [];
  const flagged = verdicts.filter((v) => v.decision !== 'allow');
  const rails = flagged.length
    ? flagged.map((v) => h('li', { class: `verdict verdict-${v.decision}` }, `${v.rail}: ${v.decision.replace('_', ' ')}${v.reason ? ` — ${v.reason}` : ''}`))
    : [h('li', { class: 'verdict verdict-allow' }, `${verdicts.length} rail${verdicts.length === 1 ? '' : 's'} allowed`)];
  return h(
    'div',
    { class: 'decision', dataset: { executionId: execution.id } },
    h('span', { class: 'decision-reason' }, icon('sparkle'), `Agent decision: ${execution.outputs?.reason || execution.status}`),
    h('ul', { class: 'verdicts' }, rails),
  );
}

/** A hand-off's text: an unreachable model says so plainly. */
function handoffText(execution) {
  const reason = execution.outputs?.reason || '';
  const error = execution.error || '';
  if (/^llm_(unreachable|circuit_open|timeout)/.test(error) || /unreachable|degraded/.test(reason)) {
    return 'AI agent unavailable: model server unreachable — handed to a human';
  }
  return `Handed to a human: ${reason || 'the agent asked for help'}`;
}

/** Note cards for the conversation: each hand-off, and a degraded agent right now. */
export function agentNoteItems(view, chat) {
  const items = (view.executions || [])
    .filter((e) => e.status === 'handed_off')
    .reverse()
    .map((e) => ({
      key: `handoff-${e.id}`,
      version: e.finished_at || '',
      build: () => h('div', { class: 'agent-note handoff', dataset: { executionId: e.id } }, icon('alert'), h('span', {}, handoffText(e))),
    }));
  const agent = degradedAgent(chat);
  if (agent) {
    items.push({
      key: 'agent-degraded',
      version: agent.status_reason || '',
      build: () => h('div', { class: 'agent-note degraded', title: agent.status_reason || '' }, icon('alert'),
        h('span', {}, `AI agent unavailable: model server unreachable — ${agent.name}'s drafts are handed to a human`)),
    });
  }
  return items;
}

/** The contact's memories panel (`<details id="memories">`) with a delete button per memory. */
export function renderMemories(view, chat) {
  const panel = document.getElementById('memories');
  if (!panel) return;
  const memories = view?.memoriesOf === chat?.contact_id ? view.memories || [] : [];
  panel.querySelector('.memories-count').textContent = String(memories.length);
  panel.querySelector('ul').replaceChildren(
    ...(memories.length
      ? memories.map((m) => h('li', { class: 'memory', dataset: { memoryId: m.id, kind: m.kind } },
          h('span', { class: `tag tag-${m.kind}` }, m.kind),
          h('span', { class: 'memory-content' }, m.content),
          h('button', { class: 'icon-button small', type: 'button', title: 'Forget this', 'aria-label': 'Delete memory', 'data-action': 'forget', onclick: () => forget(view, chat.contact_id, m) }, icon('x'))))
      : [h('li', { class: 'memory empty' }, 'Nothing remembered yet.')]),
  );
}

async function forget(view, contactId, memory) {
  try {
    await bound.api.delete(`/api/v1/contacts/${contactId}/memories/${memory.id}`);
    view.memories = (view.memories || []).filter((m) => m.id !== memory.id);
    bound.render({ list: false });
  } catch (error) {
    bound.toast(`Could not delete the memory: ${error.message}`);
  }
}
