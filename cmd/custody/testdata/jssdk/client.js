// The official Genesys Cloud JavaScript SDK (purecloud-platform-client-v2,
// pinned in package.json) as a client of `custody sim serve`: every call
// custody makes, and those around it an integrator would, through the SDK's
// own API classes. Run by cmd/custody/jssdk_test.go, which checks each body
// against the SDK models; this script only drives the calls.
//
// Environment: JSSDK_DIR (where node_modules is), SIM_LOGIN_URL,
// SIM_API_URL, SIM_CLIENT_ID, SIM_CLIENT_SECRET.
// Output: one JSON line per call on stdout,
//   {"call":…, "model":…, "status":…, "headers":{…}, "body":…}
// or {"call":…, "error":…, "status":…, "body":…} for a rejected call; the
// last line is {"done":true}. Exit 1 on a rejection the script cannot go
// on from.
'use strict';

const path = require('path');
const platformClient = require(path.join(process.env.JSSDK_DIR, 'node_modules', 'purecloud-platform-client-v2'));

const client = platformClient.ApiClient.instance;
client.setReturnExtendedResponses(true);

function gateway(u) {
  const url = new URL(u);
  return { host: url.hostname, protocol: url.protocol.replace(':', ''), port: Number(url.port) };
}

function out(o) { process.stdout.write(JSON.stringify(o) + '\n'); }

// call runs one SDK call and prints its outcome; model is the SDK model of
// the body ("" for a call without one).
async function call(name, model, fn) {
  try {
    const r = await fn();
    out({ call: name, model, status: r.status, headers: r.headers, body: r.body === '' ? undefined : r.body });
    return r.body;
  } catch (e) {
    out({ call: name, error: String((e && e.error && e.error.message) || (e && e.message) || e), status: e && e.status, body: e && e.body });
    throw e;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function poll(name, model, fn, done) {
  for (let i = 0; i < 200; i++) {
    const b = await call(name, model, fn);
    if (done(b)) return b;
    await sleep(100);
  }
  throw new Error(name + ': never finished');
}

async function main() {
  // Login: the gateway addresses one host, so point it at the login
  // listener for the token and at the API listener afterwards, as a
  // client of login.{domain} and api.{domain} does.
  client.setGateway(gateway(process.env.SIM_LOGIN_URL));
  await client.loginClientCredentialsGrant(process.env.SIM_CLIENT_ID, process.env.SIM_CLIENT_SECRET)
    .then(() => out({ call: 'loginClientCredentialsGrant', model: '', status: 200 }))
    .catch((e) => { out({ call: 'loginClientCredentialsGrant', error: String(e && e.message || e) }); throw e; });
  client.setGateway(gateway(process.env.SIM_API_URL));

  const analytics = new platformClient.AnalyticsApi();
  const conversations = new platformClient.ConversationsApi();
  const recording = new platformClient.RecordingApi();
  const audit = new platformClient.AuditApi();

  const interval = '2024-01-01T00:00:00.000Z/2024-04-01T00:00:00.000Z';
  const whatsapp = [{ type: 'and', predicates: [
    { type: 'dimension', dimension: 'mediaType', operator: 'matches', value: 'message' },
    { type: 'dimension', dimension: 'messageType', operator: 'matches', value: 'whatsapp' },
  ] }];

  // Analytics job: create, poll, results (every page).
  const job = await call('postAnalyticsConversationsDetailsJobs', 'Asyncqueryresponse',
    () => analytics.postAnalyticsConversationsDetailsJobs({ interval, order: 'asc', orderBy: 'conversationStart', segmentFilters: whatsapp }));
  await poll('getAnalyticsConversationsDetailsJob', 'Asyncquerystatus',
    () => analytics.getAnalyticsConversationsDetailsJob(job.jobId), (b) => b.state === 'FULFILLED');
  const ids = [];
  let cursor;
  do {
    const page = await call('getAnalyticsConversationsDetailsJobResults', 'Analyticsconversationasyncqueryresponse',
      () => analytics.getAnalyticsConversationsDetailsJobResults(job.jobId, { cursor, pageSize: 25 }));
    for (const c of page.conversations || []) ids.push(c.conversationId);
    cursor = page.cursor;
  } while (cursor);
  if (ids.length === 0) throw new Error('no conversations listed');

  // Messages: the message conversation, one message alone and all in bulk,
  // for every listed conversation (so every content type is met).
  for (const id of ids) {
    const mc = await call('getConversationsMessage', 'Messageconversation', () => conversations.getConversationsMessage(id));
    const msgs = [];
    for (const p of mc.participants || []) for (const m of p.messages || []) msgs.push(m.messageId);
    await call('getConversationsMessageMessage', 'Messagedata', () => conversations.getConversationsMessageMessage(id, msgs[0]));
    await call('postConversationsMessageMessagesBulk', 'Textmessagelisting', () => conversations.postConversationsMessageMessagesBulk(id, { body: msgs }));
  }

  // Deletion protection: get, protect (protect left to its default, then
  // explicit), unprotect.
  const few = ids.slice(0, 3);
  await call('postRecordingsDeletionprotection', '[]Addressableentityref', () => recording.postRecordingsDeletionprotection({ conversationIds: ids.slice(0, 100) }));
  await call('putRecordingsDeletionprotection', '', () => recording.putRecordingsDeletionprotection({ body: { conversationIds: few } }));
  await call('putRecordingsDeletionprotection', '', () => recording.putRecordingsDeletionprotection({ protect: true, body: { conversationIds: few } }));
  await call('putRecordingsDeletionprotection', '', () => recording.putRecordingsDeletionprotection({ protect: false, body: { conversationIds: few.slice(0, 1) } }));
  await call('postRecordingsDeletionprotection', '[]Addressableentityref', () => recording.postRecordingsDeletionprotection({ conversationIds: few }));

  // Audits: the service mapping, a query, its status and results.
  const mapping = await call('getAuditsQueryServicemapping', 'Auditqueryservicemapping', () => audit.getAuditsQueryServicemapping());
  const serviceName = mapping.services[0].name;
  const aq = await call('postAuditsQuery', 'Auditqueryexecutionstatusresponse', () => audit.postAuditsQuery({
    interval: '2024-01-01T00:00:00.000Z/2030-01-01T00:00:00.000Z', serviceName,
    filters: [{ property: 'EntityType', value: 'Conversation' }], sort: [{ name: 'Timestamp', sortOrder: 'descending' }],
  }));
  await poll('getAuditsQueryTransactionId', 'Auditqueryexecutionstatusresponse',
    () => audit.getAuditsQueryTransactionId(aq.id), (b) => b.state === 'Succeeded');
  cursor = undefined;
  do {
    const page = await call('getAuditsQueryTransactionIdResults', 'Auditqueryexecutionresultsresponse',
      () => audit.getAuditsQueryTransactionIdResults(aq.id, { cursor }));
    cursor = page.cursor;
  } while (cursor);

  // Recording job: create, run, get until done, list.
  const rj = await call('postRecordingJobs', 'Recordingjob', () => recording.postRecordingJobs({
    action: 'EXPORT', integrationId: 'custody-sim-s3', includeRecordingsWithSensitiveData: false, includeScreenRecordings: false,
    conversationQuery: { interval, segmentFilters: whatsapp },
  }));
  await poll('getRecordingJob', 'Recordingjob', () => recording.getRecordingJob(rj.id), (b) => b.state === 'READY');
  await call('putRecordingJob', 'Recordingjob', () => recording.putRecordingJob(rj.id, { state: 'PROCESSING' }));
  await poll('getRecordingJob', 'Recordingjob', () => recording.getRecordingJob(rj.id), (b) => b.state === 'FULFILLED' || b.state === 'FAILED');
  await call('getRecordingJobs', 'Recordingjobentitylisting', () => recording.getRecordingJobs({ pageSize: 25, pageNumber: 1 }));
  await call('getRecordingJobs', 'Recordingjobentitylisting', () => recording.getRecordingJobs({ state: 'FULFILLED' }));
  out({ done: true });
}

main().catch((e) => {
  process.stderr.write('jssdk client: ' + (e && e.stack || JSON.stringify(e)) + '\n');
  process.exit(1);
});
