// The web inbox: signs in, loads the team's chats, keeps them live over the inbox WebSocket and
// lets an operator read, reply, assign, resolve and review AI drafts, mostly from the keyboard.

import { Api, rememberedOrganization, rememberOrganization } from './api.js';
import { conversationActions } from './conversation.js';
import { InboxSocket } from './socket.js';
import { icon } from './dom.js';
import { noteExecution } from './agentops.js';
import { store, resetStore, mergeChat, noteMessage, upsertMessage, visibleChats } from './store.js';
import { renderChatList, renderConversation, renderConnection, renderMe } from './views.js';

const $ = (id) => document.getElementById(id);
const els = {
  boot: $('boot'),
  login: $('login-view'),
  loginForm: $('login-form'),
  loginEmail: $('login-email'),
  loginPassword: $('login-password'),
  loginOrganization: $('login-organization'),
  loginError: $('login-error'),
  loginNote: $('login-note'),
  loginSubmit: $('login-submit'),
  app: $('app-view'),
  connection: $('connection'),
  orgName: $('org-name'),
  meName: $('me-name'),
  meRole: $('me-role'),
  meAvatar: $('me-avatar'),
  assigneeFilter: $('assignee-filter'),
  statusFilter: $('status-filter'),
  list: $('chat-list'),
  empty: $('chat-list-empty'),
  more: $('chat-list-more'),
  count: $('list-count'),
  help: $('help'),
  toast: $('toast'),
};
const conv = {
  empty: $('conversation-empty'),
  main: $('conversation-main'),
  contactName: $('contact-name'),
  contactAvatar: $('contact-avatar'),
  contactMeta: $('contact-meta'),
  status: $('chat-status'),
  assignee: $('chat-assignee'),
  assign: $('assign-button'),
  resolve: $('resolve-button'),
  scroller: $('messages-scroll'),
  older: $('older-button'),
  messages: $('messages'),
  composer: $('composer'),
  reply: $('reply'),
};

const api = new Api({ onSessionLost: () => signOut('Your session has ended. Please sign in again.') });
let socket = null;
let listRequested = false;

// --- rendering ---------------------------------------------------------------------------

let dirty = { list: false, conv: false };
let scheduled = false;
let scrollIntent = null; // 'bottom' | 'keep' | null

function render({ list = true, conversation = true } = {}) {
  dirty.list ||= list;
  dirty.conv ||= conversation;
  if (scheduled) return;
  scheduled = true;
  setTimeout(flush, 0);
}

function flush() {
  scheduled = false;
  const { list, conv: conversation } = dirty;
  dirty = { list: false, conv: false };
  if (list) {
    renderChatList({ list: els.list, empty: els.empty, more: els.more, count: els.count }, actions);
    const unread = [...store.chats.values()].filter((c) => c.unread_count > 0).length;
    document.title = `${unread ? `(${unread}) ` : ''}Inbox · Switchboard`;
  }
  if (conversation) {
    const scroller = conv.scroller;
    const nearBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
    const before = scroller.scrollHeight;
    renderConversation(conv, actions);
    if (scrollIntent === 'keep') scroller.scrollTop += scroller.scrollHeight - before;
    else if (scrollIntent === 'bottom' || nearBottom) scroller.scrollTop = scroller.scrollHeight;
    scrollIntent = null;
  }
}

let toastTimer = 0;
function toast(text) {
  els.toast.textContent = text;
  els.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { els.toast.hidden = true; }, 4500);
}

// --- session -----------------------------------------------------------------------------

function showLogin(note) {
  els.boot.hidden = true;
  els.app.hidden = true;
  els.login.hidden = false;
  els.loginNote.hidden = !note;
  els.loginNote.textContent = note || '';
  if (!els.loginOrganization.value) els.loginOrganization.value = rememberedOrganization();
  els.loginEmail.focus();
}

async function onLogin(event) {
  event.preventDefault();
  els.loginError.hidden = true;
  const email = els.loginEmail.value.trim();
  const password = els.loginPassword.value;
  const organization = els.loginOrganization.value.trim();
  if (!email || !password) {
    els.loginError.textContent = 'Enter your email and password.';
    els.loginError.hidden = false;
    return;
  }
  els.loginSubmit.disabled = true;
  els.loginSubmit.textContent = 'Signing in…';
  try {
    await api.login(email, password, organization || undefined);
    rememberOrganization(organization);
    els.loginPassword.value = '';
    await enter();
  } catch (error) {
    els.loginError.textContent =
      error.status === 401 ? 'Wrong email or password.'
        : error.code === 'validation_failed' ? error.message.replace(/^organization: /, 'Organisation: ')
          : error.status === 403 ? 'You are not a member of that organisation.'
            : error.message;
    els.loginError.hidden = false;
  } finally {
    els.loginSubmit.disabled = false;
    els.loginSubmit.textContent = 'Sign in';
  }
}

async function enter() {
  const list = (path) => api.get(path).then((page) => page.items).catch(() => []);
  const [me, members, agents, channels] = await Promise.all([
    api.get('/api/v1/me'),
    list('/api/v1/members?limit=200'),
    list('/api/v1/agents?limit=200'),
    list('/api/v1/channels?limit=200'),
  ]);
  store.me = me;
  for (const m of members) store.members.set(m.user_id, m);
  for (const a of agents) store.agents.set(a.id, a);
  for (const c of channels) store.channels.set(c.id, c);
  els.boot.hidden = true;
  els.login.hidden = true;
  els.app.hidden = false;
  renderMe({ orgName: els.orgName, meName: els.meName, meRole: els.meRole, meAvatar: els.meAvatar });
  renderFilters();
  render();
  listRequested = false;
  socket = new InboxSocket({ api, onEvent, onStatus, onReady });
  socket.start();
  // The list loads once the live stream is subscribed, so nothing falls between the two; if the
  // socket is slow to come up, load anyway (events still arrive once it does).
  setTimeout(() => loadChats(true), 2500);
  const wanted = new URLSearchParams(location.hash.slice(1)).get('chat');
  if (wanted && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(wanted)) selectChat(wanted);
}

async function signOut(note) {
  if (socket) socket.stop();
  socket = null;
  await api.logout();
  resetStore();
  els.list.replaceChildren();
  conv.messages.replaceChildren();
  history.replaceState(null, '', location.pathname);
  document.title = 'Inbox · Switchboard';
  showLogin(note);
}

// --- live events -------------------------------------------------------------------------

function onStatus(status) {
  store.connection = status;
  renderConnection(els.connection, status);
}

function onReady({ first }) {
  if (first) loadChats(true);
}

function onEvent(event) {
  const data = event.data || {};
  if (data.chat) mergeChat(data.chat);
  const message = data.message;
  if (message) {
    noteMessage(message);
    if (upsertMessage(message) && message.direction === 'inbound') scheduleMarkRead();
  }
  if (data.execution) noteExecution(store.conversation, event.chat_id, data.execution);
  if (event.chat_id && !store.chats.has(event.chat_id)) fetchChat(event.chat_id);
  ensureContacts();
  render();
}

async function fetchChat(id) {
  try {
    mergeChat(await api.get(`/api/v1/chats/${id}`));
    ensureContacts();
    render();
  } catch {
    // Gone, or not ours: nothing to show.
  }
}

function ensureContacts() {
  for (const chat of store.chats.values()) {
    if (store.contacts.has(chat.contact_id)) continue;
    store.contacts.set(chat.contact_id, null);
    api
      .get(`/api/v1/contacts/${chat.contact_id}`)
      .then((contact) => store.contacts.set(contact.id, contact))
      .catch(() => store.contacts.set(chat.contact_id, { id: chat.contact_id, name: 'Unknown contact' }))
      .finally(() => render());
  }
}

// --- chat list ---------------------------------------------------------------------------

async function loadChats(reset) {
  if (reset) {
    if (listRequested) return;
    listRequested = true;
    store.listCursor = null;
  }
  const params = new URLSearchParams({ limit: '50' });
  if (store.filter.assignee !== 'all') params.set('assignee', store.filter.assignee);
  if (store.filter.status) params.set('status', store.filter.status);
  if (!reset && store.listCursor) params.set('cursor', store.listCursor);
  store.listLoading = true;
  render({ conversation: false });
  try {
    const page = await api.get(`/api/v1/chats?${params}`);
    for (const chat of page.items) mergeChat(chat);
    store.listCursor = page.next_cursor || null;
    ensureContacts();
  } catch (error) {
    toast(`Could not load conversations: ${error.message}`);
  } finally {
    store.listLoading = false;
    render();
  }
}

function setFilter(change) {
  Object.assign(store.filter, change);
  renderFilters();
  for (const id of [...store.chats.keys()]) {
    if (id !== store.selectedId) store.chats.delete(id);
  }
  listRequested = false;
  loadChats(true);
}

function renderFilters() {
  for (const button of els.assigneeFilter.querySelectorAll('button')) {
    const active = button.dataset.assignee === store.filter.assignee;
    button.classList.toggle('active', active);
    button.setAttribute('aria-selected', String(active));
  }
  els.statusFilter.value = store.filter.status;
}

function move(delta) {
  const chats = visibleChats();
  if (!chats.length) return;
  const index = chats.findIndex((c) => c.id === store.selectedId);
  const next = index < 0 ? 0 : Math.min(chats.length - 1, Math.max(0, index + delta));
  selectChat(chats[next].id);
}

const {
  selectChat, loadOlder, markRead, scheduleMarkRead, sendReply, toggleAssign, toggleResolve, actions,
} = conversationActions({
  api,
  socket: () => socket,
  render,
  toast,
  scroll: (intent) => { scrollIntent = intent; },
  fetchChat,
  reply: conv.reply,
  autosize,
  list: els.list,
});

// --- input -------------------------------------------------------------------------------

function autosize() {
  conv.reply.style.height = 'auto';
  conv.reply.style.height = `${Math.min(conv.reply.scrollHeight, 200)}px`;
}

function onKey(event) {
  if (els.app.hidden) return;
  const target = event.target;
  const typing = target.matches?.('input, textarea, select');
  if (event.key === 'Escape') {
    if (typing) target.blur();
    return;
  }
  if (typing || event.metaKey || event.ctrlKey || event.altKey || els.help.open) return;
  const inList = target === document.body || els.list.contains(target);
  switch (event.key) {
    case 'j':
      move(1);
      break;
    case 'k':
      move(-1);
      break;
    case 'ArrowDown':
      if (!inList) return;
      move(1);
      break;
    case 'ArrowUp':
      if (!inList) return;
      move(-1);
      break;
    case 'r':
    case 'Enter':
      if (!store.conversation) return;
      conv.reply.focus();
      break;
    case 'a':
      toggleAssign();
      break;
    case 'e':
      toggleResolve();
      break;
    case '1': case '2': case '3': case '4':
      setFilter({ assignee: ['all', 'me', 'unassigned', 'agent'][Number(event.key) - 1] });
      break;
    case '?':
      els.help.showModal();
      break;
    default:
      return;
  }
  event.preventDefault();
}

function bind() {
  els.loginForm.addEventListener('submit', onLogin);
  $('send-button').append(icon('send'));
  $('help-button').append(icon('keyboard'));
  $('logout-button').append(icon('logout'));
  $('help-button').addEventListener('click', () => els.help.showModal());
  $('help-close').addEventListener('click', () => els.help.close());
  $('logout-button').addEventListener('click', () => signOut());
  els.assigneeFilter.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-assignee]');
    if (button) setFilter({ assignee: button.dataset.assignee });
  });
  els.statusFilter.addEventListener('change', () => setFilter({ status: els.statusFilter.value }));
  els.more.addEventListener('click', () => loadChats(false));
  conv.older.addEventListener('click', loadOlder);
  conv.scroller.addEventListener('scroll', () => {
    if (conv.scroller.scrollTop < 40) loadOlder();
  });
  conv.assign.addEventListener('click', toggleAssign);
  conv.resolve.addEventListener('click', toggleResolve);
  conv.composer.addEventListener('submit', (event) => {
    event.preventDefault();
    sendReply();
  });
  conv.reply.addEventListener('input', autosize);
  conv.reply.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendReply();
    }
  });
  document.addEventListener('keydown', onKey);
  document.addEventListener('visibilitychange', () => markRead());
  setInterval(() => render({ conversation: false }), 60000);
  // A hook for people debugging the live connection (and for the end-to-end tests).
  window.switchboardInbox = {
    dropConnection: () => socket?.drop(),
    get cursor() { return socket?.lastSeq ?? null; },
    get connection() { return store.connection; },
  };
}

async function boot() {
  bind();
  renderConnection(els.connection, 'offline');
  if (await api.resume()) {
    try {
      await enter();
      return;
    } catch {
      // fall through to the login form
    }
  }
  showLogin();
}

boot();
