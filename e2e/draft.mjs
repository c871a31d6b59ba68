// AI drafts in the page: a pending draft shows as a card with Approve / Edit & send / Reject;
// approving turns it into an ordinary outbound message (status queued), and "Edit & send" sends
// the edited text. Also takes the screenshot of the inbox with a conversation open.
//
// args: {chat_id, user: {email, password, organization}, approve_id, edit_id, edited_body,
//        screenshot}

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { args, openChat, openPage, run, shownMessages, signIn } from './lib.mjs';

const input = args();

run(async (browser) => {
  const errors = [];
  const { page } = await openPage(browser, errors, 'reviewer');
  await signIn(page, input.base, input.user);
  await openChat(page, input.chat_id);
  const card = (id) => page.locator(`.draft-card[data-message-id="${id}"]`);
  await card(input.approve_id).waitFor();
  await card(input.edit_id).waitFor();
  const cards = await page.$$eval('.draft-card', (els) =>
    els.map((el) => ({
      id: el.dataset.messageId,
      buttons: [...el.querySelectorAll('button')].map((b) => b.textContent.trim()),
    })),
  );
  await page.waitForFunction(() => !document.querySelector('.chat-name .placeholder'));
  if (input.screenshot) {
    await mkdir(path.dirname(input.screenshot), { recursive: true });
    await page.screenshot({ path: input.screenshot });
  }

  await card(input.approve_id).locator('[data-action="approve"]').click();
  const approved = `.message[data-message-id="${input.approve_id}"]:not(.draft-card)[data-status="queued"][data-draft-state="approved"]`;
  await page.waitForSelector(approved);

  await card(input.edit_id).locator('[data-action="edit"]').click();
  const editor = card(input.edit_id).locator('textarea');
  await editor.fill(input.edited_body);
  await card(input.edit_id).locator('[data-action="send-edited"]').click();
  await page.waitForSelector(`.message[data-message-id="${input.edit_id}"]:not(.draft-card)[data-draft-state="approved"]`);

  if (input.screenshot_after) await page.screenshot({ path: input.screenshot_after });
  return {
    cards,
    messages: await shownMessages(page),
    drafts_left: await page.locator('.draft-card').count(),
    errors,
  };
});
