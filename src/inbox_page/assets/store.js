// The page's state and the rules that keep it consistent whichever way an update arrives (a REST
// answer, a command's ack, a live event, a resumed backlog): rows merge by id, the newer version
// of a chat wins, and the list is filtered and ordered exactly as the server orders it.

import { preview } from './dom.js';

export const store = {
  me: null, // {user, organization, role}
  members: new Map(), // user id -> {name, email}
  agents: new Map(), // agent id -> agent
  channels: new Map(), // channel id -> channel
  contacts: new Map(), // contact id -> contact, or null while loading
  chats: new Map(), // chat id -> chat
  draftChats: new Set(), // chats known to have a draft waiting for review
  filter: { assignee: 'all', status: 'open' },
  listCursor: null,
  listLoading: false,
  selectedId: null,
  conversation: null, // see openConversation()
  connection: 'offline',
};

/** Empties everything (sign out). */
export function resetStore() {
  for (const key of ['members', 'agents', 'channels', 'contacts', 'chats']) store[key].clear();
  store.draftChats.clear();
  store.me = null;
  store.listCursor = null;
  store.selectedId = null;
  store.conversation = null;
}

export function myId() {
  return store.me?.user?.id ?? null;
}

/** Whether a chat belongs in the list under the current filters. */
export function matchesFilter(chat) {
  const { assignee, status } = store.filter;
  if (status && chat.status !== status) return false;
  switch (assignee) {
    case 'me':
      return chat.assigned_user_id === myId();
    case 'unassigned':
      return !chat.assigned_user_id && !chat.assigned_agent_id;
    case 'agent':
      return Boolean(chat.assigned_agent_id);
    default:
      return true;
  }
}

/** Takes a chat row unless we already hold a newer version of it. */
export function mergeChat(chat) {
  if (!chat?.id) return false;
  const held = store.chats.get(chat.id);
  if (held && held.updated_at > chat.updated_at) return false;
  store.chats.set(chat.id, { ...held, ...chat });
  return true;
}

/** The server's order: most recent activity first, chats without messages last. */
export function compareChats(a, b) {
  const at = a.last_message_at || '';
  const bt = b.last_message_at || '';
  if (at !== bt) {
    if (!at) return 1;
    if (!bt) return -1;
    return at < bt ? 1 : -1;
  }
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

export function visibleChats() {
  return [...store.chats.values()].filter(matchesFilter).sort(compareChats);
}

/** What a message means for its chat's row: newest activity and preview. */
export function noteMessage(message) {
  if (message.draft_state === 'pending_approval') {
    store.draftChats.add(message.chat_id);
    return;
  }
  if (message.draft_state === 'rejected') return;
  const chat = store.chats.get(message.chat_id);
  if (!chat) return;
  const at = message.draft_state === 'approved' ? message.updated_at : message.created_at;
  if (!chat.last_message_at || at >= chat.last_message_at) {
    chat.last_message_at = at;
    chat.last_message_preview = preview(message.body);
  }
}

/** A fresh conversation view of a chat. */
export function openConversation(chatId) {
  store.conversation = {
    chatId,
    messages: new Map(),
    olderCursor: null,
    loading: true,
    loadingOlder: false,
    pending: [], // optimistic replies: {tempId, body, state: 'sending' | 'failed', error}
    editing: null, // draft id being edited
    editText: null, // its text so far
    busy: new Set(), // drafts with a decision in flight
  };
  return store.conversation;
}

/** Adds or replaces a message of the open conversation; true when it is that chat's. */
export function upsertMessage(message) {
  const conv = store.conversation;
  if (!conv || conv.chatId !== message.chat_id) return false;
  conv.messages.set(message.id, message);
  // The server confirmed a reply we were showing optimistically.
  if (message.sender_user_id && message.sender_user_id === myId()) {
    const index = conv.pending.findIndex((p) => p.body === message.body);
    if (index >= 0) conv.pending.splice(index, 1);
  }
  if (message.draft_state === 'pending_approval') store.draftChats.add(message.chat_id);
  else refreshDraftFlag(conv);
  return true;
}

function refreshDraftFlag(conv) {
  const waiting = [...conv.messages.values()].some((m) => m.draft_state === 'pending_approval');
  if (waiting) store.draftChats.add(conv.chatId);
  else store.draftChats.delete(conv.chatId);
}

/** The open conversation's messages, oldest first. */
export function orderedMessages() {
  const conv = store.conversation;
  if (!conv) return [];
  return [...conv.messages.values()].sort((a, b) =>
    a.created_at === b.created_at ? (a.id < b.id ? -1 : 1) : a.created_at < b.created_at ? -1 : 1,
  );
}

/** Display name of whoever handles a chat. */
export function assigneeName(chat) {
  if (chat.assigned_user_id) {
    if (chat.assigned_user_id === myId()) return 'You';
    return store.members.get(chat.assigned_user_id)?.name || 'A teammate';
  }
  if (chat.assigned_agent_id) return store.agents.get(chat.assigned_agent_id)?.name || 'AI agent';
  return null;
}

export function contactName(chat) {
  return store.contacts.get(chat.contact_id)?.name || '';
}

export function channelKind(chat) {
  return store.channels.get(chat.channel_id)?.kind || 'web';
}
