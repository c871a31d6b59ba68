// Rendering: the chat list, the open conversation (messages, AI draft cards, optimistic
// replies), the connection indicator and the signed-in person. Views read the store and call
// back into app.js through `actions`; they never fetch.

import { h, icon, reconcile, initials, tone, shortTime, clock, dayLabel, dayKey } from './dom.js';
import {
  store, visibleChats, orderedMessages, assigneeName, contactName, channelKind, myId,
} from './store.js';
import {
  agentNoteItems, decisionNote, degradedAgent, degradedTag, executionFor, renderMemories,
} from './agentops.js';

const DELIVERY = {
  queued: ['clock', 'Queued'],
  sent: ['check', 'Sent'],
  delivered: ['checks', 'Delivered'],
  read: ['checks', 'Read'],
  failed: ['alert', 'Failed'],
};

const CONNECTION = {
  connected: 'Live',
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

const CHANNEL_NAMES = { web: 'Web chat', telegram: 'Telegram', email: 'Email' };

export function renderConnection(el, status) {
  el.dataset.state = status;
  el.querySelector('.label').textContent = CONNECTION[status] || status;
  el.title = status === 'connected' ? 'Live updates are on' : 'Live updates are paused; they resume by themselves';
}

export function renderMe(els) {
  const me = store.me;
  els.orgName.textContent = me?.organization?.name || 'Switchboard';
  els.meName.textContent = me?.user?.name || me?.user?.email || '';
  els.meRole.textContent = me?.role || '';
  els.meAvatar.textContent = initials(me?.user?.name || me?.user?.email);
  els.meAvatar.className = `avatar small ${tone(me?.user?.id || '')}`;
}

// --- chat list ---------------------------------------------------------------------------

export function renderChatList(els, actions) {
  const chats = visibleChats();
  reconcile(
    els.list,
    chats.map((chat) => ({
      key: chat.id,
      version: [
        chat.updated_at, chat.last_message_at, chat.last_message_preview, chat.unread_count,
        chat.status, assigneeName(chat), contactName(chat), channelKind(chat),
        store.selectedId === chat.id, store.draftChats.has(chat.id), shortTime(chat.last_message_at),
        Boolean(degradedAgent(chat)),
      ].join('|'),
      build: () => chatRow(chat, actions),
    })),
  );
  els.empty.hidden = chats.length > 0 || store.listLoading;
  const count = `${chats.length}${store.listCursor ? '+' : ''}`;
  els.count.textContent = store.listLoading && !chats.length ? 'Loading…' : `${count} conversation${chats.length === 1 && !store.listCursor ? '' : 's'}`;
  els.more.hidden = !store.listCursor;
  els.more.disabled = store.listLoading;
}

function chatRow(chat, actions) {
  const name = contactName(chat);
  const unread = chat.unread_count > 0;
  const selected = store.selectedId === chat.id;
  const kind = channelKind(chat);
  const who = assigneeName(chat);
  return h(
    'li',
    {
      class: `chat-row${selected ? ' selected' : ''}${unread ? ' unread' : ''}`,
      role: 'option',
      'aria-selected': String(selected),
      dataset: { chatId: chat.id },
      onclick: () => actions.select(chat.id),
    },
    h(
      'span',
      { class: `avatar ${tone(chat.contact_id)}` },
      name ? initials(name) : '',
      h('span', { class: `channel-badge channel-${kind}`, title: CHANNEL_NAMES[kind] || kind }, icon(kind)),
    ),
    h(
      'div',
      { class: 'chat-body' },
      h(
        'div',
        { class: 'chat-line' },
        h('span', { class: 'chat-name' }, name || h('span', { class: 'placeholder' }, 'Loading…')),
        h('time', { class: 'chat-time', datetime: chat.last_message_at || '' }, shortTime(chat.last_message_at)),
      ),
      h(
        'div',
        { class: 'chat-line' },
        h('span', { class: 'chat-preview' }, chat.last_message_preview || chat.subject || 'No messages yet'),
        unread ? h('span', { class: 'badge', title: `${chat.unread_count} unread` }, chat.unread_count > 99 ? '99+' : chat.unread_count) : null,
      ),
      h(
        'div',
        { class: 'chat-meta' },
        store.draftChats.has(chat.id) ? h('span', { class: 'tag tag-draft' }, icon('sparkle'), 'Draft') : null,
        degradedTag(chat),
        chat.status !== 'open' ? h('span', { class: `tag tag-${chat.status}` }, chat.status) : null,
        h('span', { class: `assignee-chip${who ? '' : ' none'}` }, icon(chat.assigned_agent_id ? 'bot' : 'user'), who || 'Unassigned'),
      ),
    ),
  );
}

// --- conversation ------------------------------------------------------------------------

export function renderConversation(els, actions) {
  const conv = store.conversation;
  const chat = conv && store.chats.get(conv.chatId);
  els.empty.hidden = Boolean(chat);
  els.main.hidden = !chat;
  if (!chat) return;
  const name = contactName(chat);
  const contact = store.contacts.get(chat.contact_id);
  const channel = store.channels.get(chat.channel_id);
  els.contactName.textContent = name || '…';
  els.contactAvatar.textContent = name ? initials(name) : '';
  els.contactAvatar.className = `avatar ${tone(chat.contact_id)}`;
  const handle = contact?.email || (contact?.telegram_username ? `@${contact.telegram_username}` : contact?.phone);
  els.contactMeta.replaceChildren(
    ...[
      h('span', { class: `channel-inline channel-${channelKind(chat)}` }, icon(channelKind(chat)), channel?.name || CHANNEL_NAMES[channelKind(chat)]),
      handle ? h('span', { class: 'handle' }, handle) : null,
      chat.subject ? h('span', { class: 'subject' }, chat.subject) : null,
    ].filter(Boolean),
  );
  els.status.textContent = chat.status;
  els.status.className = `status-pill status-${chat.status}`;
  const who = assigneeName(chat);
  els.assignee.replaceChildren(icon(chat.assigned_agent_id ? 'bot' : 'user'), who || 'Unassigned');
  els.assignee.className = `assignee${who ? '' : ' none'}`;
  const mine = chat.assigned_user_id && chat.assigned_user_id === myId();
  els.assign.textContent = mine ? 'Unassign' : 'Assign to me';
  els.assign.dataset.action = mine ? 'unassign' : 'assign';
  els.assign.hidden = !myId();
  els.resolve.replaceChildren(icon(chat.status === 'resolved' ? 'reopen' : 'resolve'), chat.status === 'resolved' ? 'Reopen' : 'Resolve');
  els.reply.placeholder = name ? `Reply to ${name}…` : 'Reply…';
  els.older.hidden = !conv.olderCursor;
  els.older.disabled = conv.loadingOlder;
  els.messages.classList.toggle('loading', conv.loading);
  reconcile(els.messages, [...messageItems(conv, chat, actions), ...agentNoteItems(conv, chat)]);
  renderMemories(conv, chat);
}

function messageItems(conv, chat, actions) {
  const items = [];
  let lastDay = null;
  const messages = orderedMessages();
  messages.forEach((message, index) => {
    const day = dayKey(message.created_at);
    if (day !== lastDay) {
      const label = dayLabel(message.created_at);
      items.push({ key: `day-${day}`, version: label, build: () => h('div', { class: 'day' }, h('span', {}, label)) });
      lastDay = day;
    }
    const editing = conv.editing === message.id;
    const busy = conv.busy.has(message.id);
    const sender = senderName(message, chat);
    const continued = continues(message, messages[index + 1]);
    const execution = message.draft_state === 'pending_approval' ? executionFor(message, conv) : null;
    items.push({
      key: message.id,
      version: [message.updated_at, message.status, message.draft_state, message.body, editing, busy, sender, continued, execution?.id].join('|'),
      build: () =>
        message.draft_state === 'pending_approval'
          ? draftCard(message, sender, editing, busy, conv, actions, execution)
          : bubble(message, sender, continued),
    });
  });
  for (const pending of conv.pending) {
    items.push({
      key: pending.tempId,
      version: pending.state,
      build: () => pendingBubble(pending, actions),
    });
  }
  return items;
}

/** Whether `next` continues `message`'s run (same sender, same state, within minutes): the run
 * shows sender, time and delivery once, under its last message. */
function continues(message, next) {
  if (!next || message.draft_state === 'pending_approval' || next.draft_state === 'pending_approval') return false;
  const who = (m) => [m.direction, m.sender_kind, m.sender_user_id, m.sender_agent_id, m.status, m.draft_state || ''].join('|');
  return (
    who(message) === who(next) &&
    dayKey(message.created_at) === dayKey(next.created_at) &&
    new Date(next.created_at) - new Date(message.created_at) < 5 * 60 * 1000
  );
}

function senderName(message, chat) {
  if (message.direction === 'inbound') return contactName(chat) || 'Contact';
  if (message.sender_kind === 'agent') return store.agents.get(message.sender_agent_id)?.name || 'AI agent';
  if (message.sender_kind === 'system') return 'System';
  if (message.sender_user_id && message.sender_user_id === myId()) return 'You';
  return store.members.get(message.sender_user_id)?.name || 'Team';
}

function delivery(status) {
  const [name, label] = DELIVERY[status] || ['clock', status];
  return h('span', { class: `delivery delivery-${status}`, title: label }, icon(name), label);
}

function bubble(message, sender, continued) {
  const outbound = message.direction === 'outbound';
  const rejected = message.draft_state === 'rejected';
  const classes = ['message', outbound ? 'out' : 'in'];
  if (continued) classes.push('continued');
  if (message.sender_kind === 'agent') classes.push('by-agent');
  if (rejected) classes.push('rejected');
  return h(
    'div',
    {
      class: classes.join(' '),
      dataset: { messageId: message.id, status: message.status, draftState: message.draft_state || '' },
    },
    h('div', { class: 'bubble' }, h('div', { class: 'body' }, message.body)),
    h(
      'div',
      { class: 'meta' },
      message.sender_kind === 'agent' ? icon('bot') : null,
      h('span', { class: 'sender' }, sender),
      message.draft_state === 'approved' ? h('span', { class: 'approved-note' }, 'approved draft') : null,
      h('time', { datetime: message.created_at }, clock(message.created_at)),
      rejected ? h('span', { class: 'delivery delivery-rejected' }, icon('x'), 'Draft rejected') : null,
      outbound && !rejected ? delivery(message.status) : null,
    ),
  );
}

function draftCard(message, sender, editing, busy, conv, actions, execution) {
  const text = editing && conv.editText !== null ? conv.editText : message.body;
  const editor = editing
    ? h('textarea', {
        class: 'draft-edit',
        rows: Math.min(10, Math.max(3, text.split('\n').length + 1)),
        value: text,
        'aria-label': 'Edit the draft',
        oninput: (event) => { conv.editText = event.target.value; },
        onkeydown: (event) => {
          if (event.key === 'Escape') {
            event.stopPropagation();
            actions.cancelEdit(message);
          } else if (event.key === 'Enter' && (event.metaKey || event.ctrlKey)) {
            event.preventDefault();
            actions.approve(message, event.target.value);
          }
        },
      })
    : h('div', { class: 'body' }, message.body);
  const buttons = editing
    ? [
        h('button', { class: 'button primary small', type: 'button', disabled: busy, 'data-action': 'send-edited', onclick: (event) => actions.approve(message, event.target.closest('.draft').querySelector('textarea').value) }, icon('send'), 'Send edited'),
        h('button', { class: 'button ghost small', type: 'button', disabled: busy, onclick: () => actions.cancelEdit(message) }, 'Cancel'),
        h('span', { class: 'hint' }, h('kbd', {}, 'Ctrl'), '+', h('kbd', {}, 'Enter'), ' to send'),
      ]
    : [
        h('button', { class: 'button primary small', type: 'button', disabled: busy, 'data-action': 'approve', onclick: () => actions.approve(message) }, icon('check'), 'Approve'),
        h('button', { class: 'button small', type: 'button', disabled: busy, 'data-action': 'edit', onclick: () => actions.edit(message) }, icon('edit'), 'Edit & send'),
        h('button', { class: 'button ghost danger small', type: 'button', disabled: busy, 'data-action': 'reject', onclick: () => actions.reject(message) }, icon('x'), 'Reject'),
      ];
  return h(
    'div',
    { class: 'message out draft-card', dataset: { messageId: message.id, status: message.status, draftState: message.draft_state } },
    h(
      'div',
      { class: `draft${busy ? ' busy' : ''}` },
      h(
        'div',
        { class: 'draft-head' },
        icon('sparkle'),
        h('strong', {}, 'AI draft'),
        h('span', { class: 'draft-by' }, `by ${sender} · waiting for your approval`),
        h('time', { datetime: message.created_at }, clock(message.created_at)),
      ),
      editor,
      decisionNote(execution),
      h('div', { class: 'draft-actions' }, buttons),
    ),
  );
}

function pendingBubble(pending, actions) {
  const failed = pending.state === 'failed';
  return h(
    'div',
    { class: `message out pending${failed ? ' failed' : ''}`, dataset: { status: pending.state } },
    h('div', { class: 'bubble' }, h('div', { class: 'body' }, pending.body)),
    h(
      'div',
      { class: 'meta' },
      h('span', { class: 'sender' }, 'You'),
      failed
        ? [
            h('span', { class: 'delivery delivery-failed', title: pending.error || '' }, icon('alert'), 'Not sent'),
            h('button', { class: 'link', type: 'button', onclick: () => actions.retry(pending) }, 'Retry'),
            h('button', { class: 'link', type: 'button', onclick: () => actions.discard(pending) }, 'Discard'),
          ]
        : h('span', { class: 'delivery delivery-sending' }, icon('clock'), 'Sending…'),
    ),
  );
}
