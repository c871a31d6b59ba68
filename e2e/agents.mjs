// AI agents as the page shows them when the model server is down: the chat of a degraded agent
// carries a "Degraded" tag in the list, the conversation shows the hand-off note, a draft shows
// the agent's logged decision next to it, and the contact's memories can be deleted.
//
// args: {chat_id, draft_id, memory_id, user: {email, password, organization}}

import { args, openChat, openPage, run, signIn } from './lib.mjs';

const input = args();

run(async (browser) => {
  const errors = [];
  const { page } = await openPage(browser, errors, 'operator');
  await signIn(page, input.base, input.user);
  const row = page.locator(`.chat-row[data-chat-id="${input.chat_id}"]`);
  await row.locator('.tag-degraded').waitFor();
  const degradedTag = (await row.locator('.tag-degraded').textContent()).trim();
  await openChat(page, input.chat_id);
  const handoff = page.locator('.agent-note.handoff').first();
  await handoff.waitFor();
  const decision = page.locator(`.draft-card[data-message-id="${input.draft_id}"] .decision`);
  await decision.waitFor();
  await page.click('#memories summary');
  const memory = page.locator(`.memory[data-memory-id="${input.memory_id}"]`);
  await memory.waitFor();
  const memoryText = (await memory.locator('.memory-content').textContent()).trim();
  await memory.locator('[data-action="forget"]').click();
  await memory.waitFor({ state: 'detached' });
  return {
    degraded_tag: degradedTag,
    handoff: (await handoff.textContent()).trim(),
    degraded_note: (await page.locator('.agent-note.degraded').textContent()).trim(),
    decision: (await decision.textContent()).trim(),
    memory: memoryText,
    memories_left: await page.locator('.memory[data-memory-id]').count(),
    errors,
  };
});
