// The open conversation: loading it (and older pages), marking it read, replying with an
// optimistic message until the server confirms, deciding on AI drafts, assigning and resolving.
// Commands go over the live connection when it is up, else over REST (the same server code).

import { mergeChat, noteMessage, openConversation, store, upsertMessage, myId } from './store.js';
import { bindAgentOps, loadAgentFacts } from './agentops.js';

/**
 * The conversation's behaviour, bound to the page: `api`, `socket()` (the current connection),
 * `render(parts)`, `toast(text)`, `scroll(intent)`, `fetchChat(id)`, the reply box and the list.
 */
export function conversationActions({ api, socket, render, toast, scroll, fetchChat, reply, autosize, list }) {
  let tempIds = 0;
  bindAgentOps(api, render, toast);

  async function selectChat(id) {
    if (store.selectedId === id && store.conversation) return;
    store.selectedId = id;
    const view = openConversation(id);
    history.replaceState(null, '', `#chat=${id}`);
    scroll('bottom');
    if (!store.chats.has(id)) await fetchChat(id);
    render();
    requestAnimationFrame(() => list.querySelector(`[data-chat-id="${id}"]`)?.scrollIntoView({ block: 'nearest' }));
    try {
      const [page] = await Promise.all([
        api.get(`/api/v1/chats/${id}/messages?limit=50`),
        loadAgentFacts(view, store.chats.get(id)?.contact_id),
      ]);
      if (store.conversation !== view) return;
      mergeMessages(view, page.items);
      view.olderCursor = page.next_cursor || null;
    } catch (error) {
      toast(`Could not load messages: ${error.message}`);
    } finally {
      view.loading = false;
      scroll('bottom');
      render();
    }
    markRead();
  }

  function mergeMessages(view, messages) {
    for (const message of messages) {
      const held = view.messages.get(message.id);
      if (!held || held.updated_at <= message.updated_at) upsertMessage(message);
    }
  }

  async function loadOlder() {
    const view = store.conversation;
    if (!view?.olderCursor || view.loadingOlder) return;
    view.loadingOlder = true;
    render({ list: false });
    try {
      const page = await api.get(`/api/v1/chats/${view.chatId}/messages?limit=50&cursor=${encodeURIComponent(view.olderCursor)}`);
      if (store.conversation !== view) return;
      mergeMessages(view, page.items);
      view.olderCursor = page.next_cursor || null;
      scroll('keep');
    } catch (error) {
      toast(`Could not load older messages: ${error.message}`);
    } finally {
      view.loadingOlder = false;
      render({ list: false });
    }
  }

  let markReadTimer = 0;
  function scheduleMarkRead() {
    clearTimeout(markReadTimer);
    markReadTimer = setTimeout(markRead, 300);
  }

  async function markRead() {
    const chat = store.conversation && store.chats.get(store.conversation.chatId);
    if (!chat || chat.unread_count === 0 || document.visibilityState !== 'visible') return;
    chat.unread_count = 0;
    render({ conversation: false });
    try {
      if (socket()?.connected) await socket().command('mark_read', { chat_id: chat.id });
      else mergeChat(await api.post(`/api/v1/chats/${chat.id}/read`));
    } catch {
      // The next open tries again.
    }
  }

  /** Over the live connection when it is up, else over REST: the same server function. */
  async function perform(command, fields, path, body) {
    if (socket()?.connected) return (await socket().command(command, fields)).data;
    return api.post(path, body);
  }

  async function sendReply(text, pending) {
    const view = store.conversation;
    if (!view) return;
    const body = text ?? reply.value;
    if (!body.trim()) return;
    if (pending) {
      pending.state = 'sending';
    } else {
      reply.value = '';
      autosize();
      pending = { tempId: `tmp-${++tempIds}`, body, state: 'sending' };
      view.pending.push(pending);
    }
    scroll('bottom');
    render();
    try {
      const message = await perform('send', { chat_id: view.chatId, body }, `/api/v1/chats/${view.chatId}/messages`, { body });
      view.pending = view.pending.filter((p) => p !== pending);
      noteMessage(message);
      upsertMessage(message);
    } catch (error) {
      pending.state = 'failed';
      pending.error = error.message;
    }
    render();
  }

  async function decide(message, decision, edited) {
    const view = store.conversation;
    if (!view || view.busy.has(message.id)) return;
    view.busy.add(message.id);
    render({ list: false });
    const fields = { chat_id: message.chat_id, message_id: message.id };
    const body = {};
    if (edited !== undefined) {
      fields.body = edited;
      body.body = edited;
    }
    try {
      const result = await perform(
        decision === 'approve' ? 'approve_draft' : 'reject_draft',
        fields,
        `/api/v1/chats/${message.chat_id}/messages/${message.id}/${decision}`,
        body,
      );
      view.editing = null;
      view.editText = null;
      noteMessage(result);
      upsertMessage(result);
      scroll('bottom');
    } catch (error) {
      toast(error.code === 'draft_not_pending' ? 'A teammate already decided on this draft.' : error.message);
    } finally {
      view.busy.delete(message.id);
      render();
    }
  }

  async function toggleAssign() {
    const chat = store.conversation && store.chats.get(store.conversation.chatId);
    if (!chat || !myId()) return;
    const mine = chat.assigned_user_id === myId();
    try {
      mergeChat(await api.post(`/api/v1/chats/${chat.id}/assign`, mine ? {} : { user_id: myId() }));
      render();
    } catch (error) {
      toast(error.message);
    }
  }

  async function toggleResolve() {
    const chat = store.conversation && store.chats.get(store.conversation.chatId);
    if (!chat) return;
    try {
      mergeChat(await api.patch(`/api/v1/chats/${chat.id}`, { status: chat.status === 'resolved' ? 'open' : 'resolved' }));
      render();
    } catch (error) {
      toast(error.message);
    }
  }

  const actions = {
    select: (id) => selectChat(id),
    approve: (message, edited) => decide(message, 'approve', edited),
    reject: (message) => decide(message, 'reject'),
    edit: (message) => {
      store.conversation.editing = message.id;
      store.conversation.editText = message.body;
      render({ list: false });
      setTimeout(() => {
        const area = document.getElementById('messages').querySelector(`[data-message-id="${message.id}"] textarea`);
        area?.focus();
        area?.setSelectionRange(area.value.length, area.value.length);
      }, 10);
    },
    cancelEdit: () => {
      store.conversation.editing = null;
      store.conversation.editText = null;
      render({ list: false });
    },
    retry: (pending) => sendReply(pending.body, pending),
    discard: (pending) => {
      store.conversation.pending = store.conversation.pending.filter((p) => p !== pending);
      render({ list: false });
    },
  };

  return { selectChat, loadOlder, markRead, scheduleMarkRead, sendReply, toggleAssign, toggleResolve, actions };
}
