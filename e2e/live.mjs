// Two operators of one organisation, each signed in in their own browser context, work the same
// chat: each sees the other's replies live, and their own exactly once (no optimistic copy left).
//
// args: {chat_id, alice: {email, password, organization}, bob: {...}}

import { args, openChat, openPage, run, shownMessages, signIn, waitForMessage } from './lib.mjs';

const input = args();

run(async (browser) => {
  const errors = [];
  const alice = await openPage(browser, errors, 'alice');
  const bob = await openPage(browser, errors, 'bob');
  await Promise.all([signIn(alice.page, input.base, input.alice), signIn(bob.page, input.base, input.bob)]);
  await Promise.all([openChat(alice.page, input.chat_id), openChat(bob.page, input.chat_id)]);

  await alice.page.fill('#reply', 'Hello from Alice');
  await alice.page.press('#reply', 'Enter');
  await waitForMessage(bob.page, 'Hello from Alice');
  await waitForMessage(alice.page, 'Hello from Alice');

  await bob.page.fill('#reply', 'Hi Alice, Bob here.\nSecond line.');
  await bob.page.press('#reply', 'Enter');
  await waitForMessage(alice.page, 'Hi Alice, Bob here.');
  await waitForMessage(bob.page, 'Hi Alice, Bob here.');
  await alice.page.waitForFunction(() => !document.querySelector('#messages .message.pending'));
  await bob.page.waitForFunction(() => !document.querySelector('#messages .message.pending'));

  const preview = (page) =>
    page.textContent(`.chat-row[data-chat-id="${input.chat_id}"] .chat-preview`);
  return {
    alice: await shownMessages(alice.page),
    bob: await shownMessages(bob.page),
    alice_preview: await preview(alice.page),
    reply_box_after_send: await alice.page.inputValue('#reply'),
    errors,
  };
});
