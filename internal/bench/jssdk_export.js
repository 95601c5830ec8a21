// What a user of the official Genesys Cloud JavaScript SDK
// (purecloud-platform-client-v2, pinned in cmd/custody/testdata/jssdk)
// writes to export the scope custody bench export exports: an analytics
// conversation details job (create, poll, every page of results through
// the cursor), then for each conversation the message conversation and
// its messages in bulk, with WORKERS concurrent workers.
//
// The SDK (v262) has no retry of its own: a 429 rejects the call. The
// script does the least a user must to finish at all: on 429 sleep the
// Retry-After the response states (1 s when none) and try again, at most
// five tries; any other rejection loses the conversation. The listing
// (job create, poll, results) is what everything after it needs, so there
// a 5xx, a dropped connection or an unreadable body is also tried again,
// at most five tries half a second apart: without the listing a user has
// nothing. No pacing. A
// body the SDK could not parse (a truncated response) is accepted as the
// SDK hands it over, as its users do: its messages are simply missing.
//
// With COMPLETE=1 it is what a user writes who must lose nothing, as
// custody must: every call, not only the listing's, is tried again on a
// 5xx, a dropped connection or a body of the wrong shape (a truncated
// response the SDK could not parse), after a backoff with full jitter
// (0 – 100 ms, doubling each try, at most 3.2 s), at most ten tries; and a
// 429 after its Retry-After, up to a hundred times, since under a rate
// limit ten 429s in a row are common without pacing. Still no pacing.
//
// Run by internal/bench (embedded); environment: JSSDK_DIR (where
// node_modules is), SIM_LOGIN_URL, SIM_API_URL, SIM_CLIENT_ID,
// SIM_CLIENT_SECRET, SIM_INTERVAL, WORKERS (default 8), COMPLETE.
// Output: one JSON line {"wall_seconds", "requests", "too_many",
// "conversations", "conversations_lost", "messages"}.
'use strict';

const path = require('path');
const platformClient = require(path.join(process.env.JSSDK_DIR, 'node_modules', 'purecloud-platform-client-v2'));

const client = platformClient.ApiClient.instance;
client.setReturnExtendedResponses(true);

function gateway(u) {
  const url = new URL(u);
  return { host: url.hostname, protocol: url.protocol.replace(':', ''), port: Number(url.port) };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const complete = process.env.COMPLETE === '1';
// exhausted says whether a call has used up its tries: five in all as an
// SDK user writes it; with COMPLETE ten failures or a hundred 429s.
const exhausted = (throttled, failed) => (complete ? throttled >= 100 || failed >= 10 : throttled + failed >= 5);
// backoff before try tries+1 of a failed (not 429) call: the listing's
// fixed half second, or with COMPLETE full jitter from 100 ms doubling.
const backoff = (tries) => (complete ? Math.random() * Math.min(100 * 2 ** (tries - 1), 3200) : 500);
let requests = 0;
let tooMany = 0;

// call makes one SDK call, trying a 429 again after its Retry-After; with
// valid (the listing, and every call with COMPLETE) also a 5xx, a call
// that got no response, and a body valid refuses (a truncated one the SDK
// could not parse).
async function call(fn, valid) {
  let throttled = 0; // 429s
  let failed = 0; // other failures
  for (;;) {
    requests++;
    try {
      const body = (await fn()).body;
      if (valid && !valid(body)) {
        if (exhausted(throttled, ++failed)) throw new Error('unreadable response');
        await sleep(backoff(failed));
        continue;
      }
      return body;
    } catch (e) {
      if (e && e.status === 429) {
        tooMany++;
        if (exhausted(++throttled, failed)) throw e;
        const ra = Number(e.headers && e.headers['retry-after']);
        await sleep(1000 * (Number.isFinite(ra) && ra > 0 ? ra : 1));
        continue;
      }
      if (exhausted(throttled, ++failed)) throw e;
      if (valid && (!e || !e.status || e.status >= 500)) {
        await sleep(backoff(failed));
        continue;
      }
      throw e;
    }
  }
}
const isObject = (body) => body !== null && typeof body === 'object';
const listing = (fn) => call(fn, isObject);
// With COMPLETE the capture's calls are checked like the listing's: a
// message conversation must list its participants, a bulk read its
// entities.
const conversationOK = complete ? (b) => isObject(b) && Array.isArray(b.participants) : undefined;
const bulkOK = complete ? (b) => isObject(b) && Array.isArray(b.entities) : undefined;

async function main() {
  const workers = Math.max(1, Number(process.env.WORKERS || 8));
  const t0 = process.hrtime.bigint();
  client.setGateway(gateway(process.env.SIM_LOGIN_URL));
  await client.loginClientCredentialsGrant(process.env.SIM_CLIENT_ID, process.env.SIM_CLIENT_SECRET);
  client.setGateway(gateway(process.env.SIM_API_URL));
  const analytics = new platformClient.AnalyticsApi();
  const conversations = new platformClient.ConversationsApi();

  const job = await listing(() => analytics.postAnalyticsConversationsDetailsJobs({
    interval: process.env.SIM_INTERVAL, order: 'asc', orderBy: 'conversationStart',
    segmentFilters: [{ type: 'and', predicates: [
      { type: 'dimension', dimension: 'mediaType', operator: 'matches', value: 'message' },
      { type: 'dimension', dimension: 'messageType', operator: 'matches', value: 'whatsapp' },
    ] }],
  }));
  for (;;) {
    const s = await listing(() => analytics.getAnalyticsConversationsDetailsJob(job.jobId));
    if (s.state === 'FULFILLED') break;
    if (s.state === 'FAILED' || s.state === 'CANCELLED' || s.state === 'EXPIRED') throw new Error('analytics job ' + s.state);
    await sleep(500);
  }
  const ids = [];
  let cursor;
  do {
    const page = await listing(() => analytics.getAnalyticsConversationsDetailsJobResults(job.jobId, cursor ? { cursor } : {}));
    for (const c of (page && page.conversations) || []) ids.push(c.conversationId);
    cursor = page && page.cursor;
  } while (cursor);

  let next = 0;
  let lost = 0;
  let messages = 0;
  async function worker() {
    while (next < ids.length) {
      const id = ids[next++];
      try {
        const mc = await call(() => conversations.getConversationsMessage(id), conversationOK);
        const msgs = [];
        for (const p of (mc && mc.participants) || []) for (const m of p.messages || []) msgs.push(m.messageId);
        const bulk = await call(() => conversations.postConversationsMessageMessagesBulk(id, { body: msgs }), bulkOK);
        const got = new Set();
        for (const m of (bulk && Array.isArray(bulk.entities) && bulk.entities) || []) if (m && m.id) got.add(m.id);
        messages += got.size;
      } catch (e) {
        lost++;
      }
    }
  }
  await Promise.all(Array.from({ length: workers }, worker));
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(JSON.stringify({ wall_seconds: wall, requests, too_many: tooMany, conversations: ids.length,
    conversations_lost: lost, messages }) + '\n');
}

main().catch((e) => {
  process.stderr.write('jssdk export: ' + String((e && e.stack) || (e && e.status && ('status ' + e.status)) || JSON.stringify(e)) + '\n');
  process.exit(1);
});
