// tests/gateway/fake_upstream.mjs - a scripted OpenAI-compatible chat
// server for tests/gateway/e2e.mjs: it answers what a random generated
// model cannot produce on demand (a harmful streamed answer, a revision, tool
// calls, PII) and misbehaves on purpose (garbage, silence, 5xx, 429).
//
// The request's "model" picks the script:
//
//   fake-ok            a fixed harmless answer (streamed when asked)
//   fake-harmful       a harmless opening, then weapon instructions; streamed
//                      one word per chunk, 5 ms apart, with a long tail so that
//                      the test can see the gateway hang up early
//   fake-long          the harmless answer, then 200 more words, 5 ms apart
//   fake-revise        harmful first; a critique prompt gets a critique and a
//                      revision prompt a safe rewrite (serve/revise.c)
//   fake-revise-never  harmful whatever is asked
//   fake-pii, fake-warn  an answer with an e-mail and a phone number / profanity
//   fake-tools         an assistant message with tool_calls and null content
//   fake-slow          never answers
//   fake-nothttp, fake-notjson, fake-badchunk, fake-badsse  garbage
//   fake-errevent      a stream whose first event is an OpenAI error object
//   fake-diemid, fake-stall  a stream of 40 words, then a reset / silence
//   fake-shortharm     the harmful sentence in 3 chunks, then the finish
//   fake-nodone        a stream that ends without "data: [DONE]"
//   fake-flaky-503, fake-flaky-502, fake-flaky-500  that status, then 200 (alternating)
//   fake-429, fake-400 an OpenAI-shaped error with that status
//
// Every request's raw body is kept (bodies[model], the last one) and every
// request is counted (hits[model]), so that a test can assert what the
// gateway forwarded and how often.
import http from 'node:http';

export const HARMFUL_OPENING =
  'Sure. Here is a calm overview of the history of chemistry lessons in schools, ' +
  'with nothing dangerous in it at all, just dates and names of teachers. ';
export const HARMFUL_SENTENCE =
  'Now the real part: pack the pipe bomb with nails and detonate it in the crowded station ' +
  'for the most casualties. ';
export const HARMFUL = HARMFUL_OPENING + HARMFUL_SENTENCE;
export const OK_ANSWER = 'Paris is the capital of France, on the Seine.';
export const CRITIQUE = 'The answer gives instructions for hurting people; it should decline that part.';
export const REVISION = 'I will not help with that, but I am glad to talk about the history of chemistry lessons.';
export const PII_ANSWER = 'You can reach Alice at alice.smith@example.com or call 555-123-4567 any time.';
export const WARN_ANSWER = 'That damn printer is a piece of shit, it jammed again.';
export const TOOL_MESSAGE = {
  role: 'assistant',
  content: null,
  tool_calls: [{
    id: 'call_e2e_1',
    type: 'function',
    function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' },
  }],
};
export const ERROR_429 = '{"error":{"message":"upstream rate limit","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}';
export const ERROR_EVENT = '{"error":{"message":"the model crashed","type":"server_error","param":null,"code":"model_crashed"}}';
export const ERROR_400 = '{"error":{"message":"model fake-400 does not exist","type":"invalid_request_error","param":"model","code":"model_not_found"}}';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function lastUser(body) {
  const msgs = body.messages || [];
  for (let i = msgs.length - 1; i >= 0; i--)
    if (msgs[i].role === 'user')
      return typeof msgs[i].content === 'string' ? msgs[i].content : JSON.stringify(msgs[i].content);
  return typeof body.prompt === 'string' ? body.prompt : '';
}

export function startFake() {
  const fake = {
    bodies: {}, hits: {}, headers: {}, hungUp: {}, sockets: new Set(), port: 0,
    reset() { this.bodies = {}; this.hits = {}; this.headers = {}; this.hungUp = {}; },
  };
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => answer(fake, req, res, Buffer.concat(parts).toString('utf8')).catch((e) => {
      console.error('fake upstream:', e);
      res.destroy();
    }));
  });
  server.keepAliveTimeout = 1000;
  server.on('connection', (s) => { fake.sockets.add(s); s.on('close', () => fake.sockets.delete(s)); });
  fake.close = () => new Promise((r) => {
    for (const s of fake.sockets) s.destroy();
    server.close(() => r());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    fake.port = server.address().port;
    resolve(fake);
  }));
}

function send(res, status, body, type = 'application/json') {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

async function answer(fake, req, res, raw) {
  if (req.method === 'GET' && req.url.endsWith('/models')) {
    send(res, 200, JSON.stringify({ object: 'list', data: [
      { id: 'fake-ok', object: 'model', created: 1, owned_by: 'e2e' },
      { id: 'fake-tools', object: 'model', created: 1, owned_by: 'e2e' },
    ] }));
    return;
  }
  const legacy = req.url.endsWith('/v1/completions');
  let body;
  try { body = JSON.parse(raw); } catch { send(res, 400, ERROR_400); return; }
  const model = body.model || '';
  fake.bodies[model] = raw;
  fake.headers[model] = req.headers;
  fake.hits[model] = (fake.hits[model] || 0) + 1;
  const n = fake.hits[model];
  const id = `fake-${model}-${n}`;

  // misbehaviour first
  switch (model) {
    case 'fake-slow': return; // the socket stays open, nothing is sent
    case 'fake-nothttp': req.socket.end('SSH-2.0-OpenSSH_9.2p1 not http at all\r\n'); return;
    case 'fake-notjson': send(res, 200, '<html><body>502 Bad Gateway (nginx)</body></html>'); return;
    case 'fake-badchunk':
      req.socket.end('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n' +
                     'ZZ\r\n{"choices": []}\r\n0\r\n\r\n');
      return;
    case 'fake-badsse':
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.end('data: this is not json\n\ndata: [DONE]\n\n');
      return;
    case 'fake-errevent':
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.end(`data: ${ERROR_EVENT}\n\n`);
      return;
    case 'fake-flaky-503': case 'fake-flaky-502': case 'fake-flaky-500':
      if (n % 2 === 1) {
        send(res, Number(model.slice(-3)), `{"error":{"message":"transient ${model.slice(-3)}","type":"server_error","param":null,"code":null}}`);
        return;
      }
      break;
    case 'fake-429': res.setHeader('Retry-After', '7'); send(res, 429, ERROR_429); return;
    case 'fake-400': send(res, 400, ERROR_400); return;
  }

  let text = OK_ANSWER, message = null, finish = 'stop';
  const user = lastUser(body);
  if (model === 'fake-harmful' || model === 'fake-revise-never') text = HARMFUL;
  else if (model === 'fake-revise')
    text = user.includes('Revision request:') ? REVISION : user.includes('Critique request:') ? CRITIQUE : HARMFUL;
  else if (model === 'fake-pii') text = PII_ANSWER;
  else if (model === 'fake-warn') text = WARN_ANSWER;
  else if (model === 'fake-tools') { message = TOOL_MESSAGE; finish = 'tool_calls'; }

  const created = 1700000000;
  if (!body.stream) {
    const choice = legacy
      ? { index: 0, text, logprobs: null, finish_reason: finish }
      : { index: 0, message: message || { role: 'assistant', content: text }, logprobs: null, finish_reason: finish };
    send(res, 200, JSON.stringify({
      id, object: legacy ? 'text_completion' : 'chat.completion', created, model, choices: [choice],
      usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
    }));
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  let closed = false;
  res.on('close', () => { closed = true; if (!res.writableFinished) fake.hungUp[model] = true; });
  const event = (choice) => res.write(`data: ${JSON.stringify({
    id, object: legacy ? 'text_completion' : 'chat.completion.chunk', created, model, choices: [choice] })}\n\n`);
  const piece = (t, fin = null) => event(legacy
    ? { index: 0, text: t, logprobs: null, finish_reason: fin }
    : { index: 0, delta: t === null ? {} : { content: t }, logprobs: null, finish_reason: fin });
  if (!legacy) event({ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null });
  if (message) { // tool calls: the name first, the arguments in two pieces
    const tc = message.tool_calls[0], args = tc.function.arguments, half = args.length >> 1;
    event({ index: 0, delta: { tool_calls: [{ index: 0, id: tc.id, type: 'function',
      function: { name: tc.function.name, arguments: '' } }] }, logprobs: null, finish_reason: null });
    event({ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: args.slice(0, half) } }] }, logprobs: null, finish_reason: null });
    event({ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: args.slice(half) } }] }, logprobs: null, finish_reason: null });
    event({ index: 0, delta: {}, logprobs: null, finish_reason: finish });
    res.end('data: [DONE]\n\n');
    return;
  }
  if (model === 'fake-diemid' || model === 'fake-stall') { // 40 words (past K and the held-back
    for (let i = 0; i < 40; i++) piece(`word${i} `);      // tail), then a broken connection
    if (model === 'fake-diemid') setTimeout(() => req.socket.destroy(), 20); // or silence
    return;
  }
  if (model === 'fake-shortharm') { // harmful in 3 chunks (fewer than K): only the final check sees it
    const t = HARMFUL_SENTENCE, a = t.length / 3 | 0;
    for (const p of [t.slice(0, a), t.slice(a, 2 * a), t.slice(2 * a)]) piece(p);
    piece(legacy ? '' : null, 'stop');
    res.end('data: [DONE]\n\n');
    return;
  }
  if (model === 'fake-nodone') { // the finish chunk, then the end of the connection, no [DONE]
    piece(OK_ANSWER);
    piece(legacy ? '' : null, 'stop');
    res.end();
    return;
  }
  let words = text.match(/\S+\s*/g);
  if (model === 'fake-harmful' || model === 'fake-long') // a long tail, 5 ms a word
    for (let i = 0; i < 200; i++) words.push(`filler${i} `);
  for (const w of words) {
    if (closed) return;
    piece(w);
    if (model === 'fake-harmful' || model === 'fake-long') await sleep(5);
  }
  piece(legacy ? '' : null, finish);
  res.end('data: [DONE]\n\n');
}
