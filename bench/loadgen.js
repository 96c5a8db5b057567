// Load generator of the fan-out benchmark (driven by bench/run.py).
//
//   node loadgen.js screens --url U --token T --room R --count N --out F
//                           [--client tcp|raw|sio] [--heartbeat --id-prefix P]
//     connects N Socket.IO screens (websocket only), subscribes each to R,
//     prints {"event":"ready",...} once all are subscribed, records the
//     arrival instant of every "state" event, and on a "dump" line on stdin
//     writes the record to F, disconnects and exits. With --heartbeat each
//     screen also reports itself as static/js/report.js does: `hello` (kind
//     screen, screen id P-<i>, room, language, viewport) on connect, `shown`
//     with the newest version every 4-5 s.
//   node loadgen.js chair --url U[,U2,...] --token T --transport http|socketio
//                         --rate R --duration S --commands F --out O
//     sends the commands of F (a JSON list, cycled) at R per second for S
//     seconds and records send and acknowledgement instants; with several
//     URLs (web nodes), command i goes to URL i mod n (recorded as "node").
//
// Instants are wall-clock milliseconds (performance.timeOrigin + now()),
// comparable with Python's time.time() * 1000 on the same machine.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const http = require("http");
const net = require("net");
const readline = require("readline");
const { io } = require("socket.io-client");
const WebSocket = require("ws");

const now = () => performance.timeOrigin + performance.now();
const mode = process.argv[2];
function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

function pct(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function screens() {
  const url = arg("url");
  const token = arg("token");
  const room = arg("room", "plenary");
  const count = Number(arg("count", 100));
  const concurrency = Number(arg("concurrency", 50));
  const out = arg("out");
  const timeoutMs = Number(arg("connect-timeout", 60000));
  const clientKind = arg("client", "raw");
  const heartbeat = process.argv.includes("--heartbeat");
  const idPrefix = arg("id-prefix", `bench${process.pid}`);

  const versionIndex = new Map();
  const versions = [];
  const records = new Array(count); // per client: flat [versionIdx, t, ...]
  const sockets = new Array(count);
  const connectMs = [];
  let subscribed = 0, failed = 0, disconnects = 0, stateEvents = 0;
  const pingsAt = [];  // when engine.io pings came (tcp client)
  const stalls = [];  // [when, ms]: this process's own event loop held up (its GC, say)
  let tick = now();
  setInterval(() => {
    const t = now();
    if (t - tick > 70) stalls.push([Math.round(t), Math.round(t - tick - 20)]);
    tick = t;
  }, 20).unref();
  const t0 = now();

  function record(rec, v, t) {
    let vi = versionIndex.get(v);
    if (vi === undefined) { vi = versions.length; versions.push(v); versionIndex.set(v, vi); }
    rec.push(vi, t);
    stateEvents++;
    if (heartbeat) reportShown(rec.screen, v);
  }

  // --heartbeat: what a screen page tells the fleet (static/js/report.js, live.js).
  // `hello` goes out on connect with an ack, before `subscribe`, as the page's
  // handlers are registered in that order; then `shown {version}` with the first
  // version drawn at once, and with the newest once a gap drawn from REPORT_MS has
  // passed, checked on the page's 0.5 s timer. Each page's timer starts when it
  // loads, so the screens' phases are spread: every screen gets a random one of
  // CHECK_SLOTS slots of the period, and one timer checks each slot in turn.
  const REPORT_MS = [4000, 5000];
  const CHECK_MS = 500;
  const CHECK_SLOTS = 50;
  const drawn = ([low, high]) => low + Math.random() * (high - low);
  const VIEWPORT = [1920, 1080];
  const slots = Array.from({ length: CHECK_SLOTS }, () => []);
  let shownSent = 0, hellos = 0, helloAcks = 0;
  function newer(a, b) {  // stream ids "ms-seq": is a newer than b?
    if (b === null) return true;
    const [am, as] = a.split("-").map(Number), [bm, bs] = b.split("-").map(Number);
    return am > bm || (am === bm && as > bs);
  }
  function helloBody(screen) {
    const body = { kind: "screen", screen_id: screen.id, lang: "es", viewport: VIEWPORT, room };
    if (screen.version !== null) body.version = screen.version;
    return body;
  }
  function newScreen(i, send) {
    const screen = { id: `${idPrefix}-${i}`, send, version: null, connected: false,
                     sentAt: Date.now(), gap: drawn(REPORT_MS) };
    if (heartbeat) slots[crypto.randomInt(CHECK_SLOTS)].push(screen);
    return screen;
  }
  function sayHello(screen) {
    screen.connected = true;
    screen.sentAt = Date.now();
    hellos++;
    screen.send("hello", helloBody(screen), 2);
  }
  function reportShown(screen, v) {
    if (!screen || typeof v !== "string" || !newer(v, screen.version)) return;
    const first = screen.version === null;
    screen.version = v;
    if (first && screen.connected) {  // the first version drawn is said at once
      screen.sentAt = Date.now();
      shownSent++;
      screen.send("shown", { version: v });
    }
  }
  if (heartbeat) {
    let slot = 0;
    setInterval(() => {
      const now = Date.now();
      for (const screen of slots[slot]) {
        if (!screen.connected || now - screen.sentAt < screen.gap) continue;
        screen.sentAt = now;
        screen.gap = drawn(REPORT_MS);
        shownSent++;
        screen.send("shown", { version: screen.version });
      }
      slot = (slot + 1) % CHECK_SLOTS;
    }, CHECK_MS / CHECK_SLOTS);
  }
  // A Socket.IO event as an Engine.IO message: 42[name,data], or 42<ack>[...].
  const eventFrame = (name, data, ack) => "42" + (ack ?? "") + JSON.stringify([name, data]);

  // The Engine.IO v4 / Socket.IO v5 protocol spoken directly over `ws`: no JSON
  // parse of the state, only its version read out, so one Node process holds
  // thousands of screens without being the bottleneck. State frames are read
  // as bytes (no UTF-8 decoding or validation of 1.8 KB per frame).
  const STATE_PREFIX = Buffer.from('42["state"');
  const VERSION_KEY = Buffer.from('"version":"');
  const QUOTE = 0x22;
  function versionOf(buf) {
    const at = buf.indexOf(VERSION_KEY);
    if (at < 0) {  // JSON written with spaces
      const m = /"version":\s*"([^"]*)"/.exec(buf.toString());
      return m ? m[1] : null;
    }
    const from = at + VERSION_KEY.length;
    return buf.toString("latin1", from, buf.indexOf(QUOTE, from));
  }
  function connectRaw(i) {
    return new Promise((resolve) => {
      const start = now();
      const rec = (records[i] = []);
      const wsUrl = url.replace(/^http/, "ws") + "/socket.io/?EIO=4&transport=websocket";
      const ws = new WebSocket(wsUrl, { perMessageDeflate: false, skipUTF8Validation: true });
      sockets[i] = { disconnect: () => ws.close(), removeAllListeners: () => ws.removeAllListeners("close") };
      rec.screen = heartbeat ? newScreen(i, (name, data, ack) => ws.send(eventFrame(name, data, ack))) : null;
      let settled = false;
      const done = (ok) => { if (!settled) { settled = true; ok ? subscribed++ : failed++; resolve(); } };
      ws.on("message", (buf) => {
        const t = now();
        if (buf.length > STATE_PREFIX.length && buf.compare(STATE_PREFIX, 0, STATE_PREFIX.length, 0, STATE_PREFIX.length) === 0) {
          record(rec, versionOf(buf), t);
          return;
        }
        const msg = buf.toString();
        if (msg.startsWith("42")) {
          // another event: not measured
        } else if (msg === "2") {
          ws.send("3");
        } else if (msg[0] === "0") {
          ws.send("40" + JSON.stringify({ token }));
        } else if (msg.startsWith("40")) {
          if (rec.screen) sayHello(rec.screen);
          ws.send('421["subscribe",' + JSON.stringify({ room }) + "]");
        } else if (msg.startsWith("431")) {
          const ack = JSON.parse(msg.slice(3))[0];
          if (ack && ack.ok !== false) {
            connectMs.push(now() - start); done(true);
            if (ack.state) reportShown(rec.screen, ack.state.version);
          } else { emit({ event: "error", client: i, ack }); done(false); }
        } else if (msg.startsWith("432")) {
          helloAcks++;
        } else if (msg.startsWith("44")) {
          emit({ event: "error", client: i, error: msg.slice(0, 300) });
          done(false);
        }
      });
      ws.on("error", (err) => { emit({ event: "error", client: i, error: String(err && err.message) }); done(false); });
      ws.on("close", () => { disconnects++; if (rec.screen) rec.screen.connected = false; done(false); });
    });
  }

  // The same protocol over a bare TCP socket, the websocket framing done here:
  // frames from the server are unmasked, each data chunk is parsed in one pass
  // (all frames in it share one arrival instant), no per-frame event objects.
  // It costs the load generator about half what `ws` does per frame, CPU the
  // server under test then has on a shared machine.
  const target = new URL(url);
  function maskedText(text) {
    const payload = Buffer.from(text);
    const n = payload.length;
    const head = n < 126 ? Buffer.from([0x81, 0x80 | n])
      : Buffer.from([0x81, 0x80 | 126, n >> 8, n & 0xff]);
    const mask = crypto.randomBytes(4);
    for (let k = 0; k < n; k++) payload[k] ^= mask[k & 3];
    return Buffer.concat([head, mask, payload]);
  }
  function connectTcp(i) {
    return new Promise((resolve) => {
      const start = now();
      const rec = (records[i] = []);
      const sock = net.connect({ host: target.hostname, port: Number(target.port), noDelay: true });
      sockets[i] = { disconnect: () => sock.destroy(), removeAllListeners: () => sock.removeAllListeners("close") };
      rec.screen = heartbeat ? newScreen(i, (name, data, ack) => sock.write(maskedText(eventFrame(name, data, ack)))) : null;
      let settled = false;
      const done = (ok) => { if (!settled) { settled = true; ok ? subscribed++ : failed++; resolve(); } };
      let upgraded = false;
      let pending = null;
      sock.on("connect", () => {
        sock.write(`GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: ${target.host}\r\n` +
          "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
          `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString("base64")}\r\n\r\n`);
      });
      function onText(payload, t) {
        if (payload.length > STATE_PREFIX.length && payload.compare(STATE_PREFIX, 0, STATE_PREFIX.length, 0, STATE_PREFIX.length) === 0) {
          record(rec, versionOf(payload), t);
          return;
        }
        const msg = payload.toString();
        if (msg === "2") { sock.write(maskedText("3")); pingsAt.push(Math.round(t)); }
        else if (msg[0] === "0") sock.write(maskedText("40" + JSON.stringify({ token })));
        else if (msg.startsWith("431")) {
          const ack = JSON.parse(msg.slice(3))[0];
          if (ack && ack.ok !== false) {
            connectMs.push(now() - start); done(true);
            if (ack.state) reportShown(rec.screen, ack.state.version);
          } else { emit({ event: "error", client: i, ack }); done(false); }
        } else if (msg.startsWith("432")) helloAcks++;
        else if (msg.startsWith("40")) {
          if (rec.screen) sayHello(rec.screen);
          sock.write(maskedText('421["subscribe",' + JSON.stringify({ room }) + "]"));
        }
        else if (msg.startsWith("44")) { emit({ event: "error", client: i, error: msg.slice(0, 300) }); done(false); }
      }
      sock.on("data", (chunk) => {
        const t = now();
        let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
        pending = null;
        if (!upgraded) {
          const end = buf.indexOf("\r\n\r\n");
          if (end < 0) { pending = buf; return; }
          if (!buf.toString("latin1", 0, 12).includes(" 101")) {
            emit({ event: "error", client: i, error: buf.toString("latin1", 0, Math.min(end, 300)) });
            sock.destroy();
            return;
          }
          upgraded = true;
          buf = buf.subarray(end + 4);
        }
        let at = 0;
        while (buf.length - at >= 2) {
          const opcode = buf[at] & 0x0f;
          let len = buf[at + 1] & 0x7f;
          let head = 2;
          if (len === 126) { if (buf.length - at < 4) break; len = buf.readUInt16BE(at + 2); head = 4; }
          else if (len === 127) { if (buf.length - at < 10) break; len = Number(buf.readBigUInt64BE(at + 2)); head = 10; }
          if (buf.length - at < head + len) break;
          const payload = buf.subarray(at + head, at + head + len);
          at += head + len;
          if (opcode === 1) onText(payload, t);
          else if (opcode === 8) { sock.destroy(); return; }
        }
        if (at < buf.length) pending = Buffer.from(buf.subarray(at));
      });
      sock.on("error", (err) => { emit({ event: "error", client: i, error: String(err && err.message) }); done(false); });
      sock.on("close", () => { disconnects++; if (rec.screen) rec.screen.connected = false; done(false); });
    });
  }

  function connectOne(i) {
    if (clientKind === "tcp") return connectTcp(i);
    if (clientKind === "raw") return connectRaw(i);
    return new Promise((resolve) => {
      const start = now();
      const rec = (records[i] = []);
      const s = io(url, {
        transports: ["websocket"], auth: { token }, forceNew: true,
        reconnection: false, timeout: timeoutMs,
      });
      sockets[i] = s;
      rec.screen = heartbeat ? newScreen(i, (name, data, ack) => {
        if (ack) s.emit(name, data, () => { helloAcks++; });
        else s.emit(name, data);
      }) : null;
      let settled = false;
      const done = (ok) => { if (!settled) { settled = true; ok ? subscribed++ : failed++; resolve(); } };
      s.on("state", (st) => record(rec, st && st.version, now()));
      s.on("connect", () => {
        if (rec.screen) sayHello(rec.screen);
        s.emit("subscribe", { room }, (ack) => {
          if (ack && ack.ok !== false) {
            connectMs.push(now() - start); done(true);
            if (ack.state) reportShown(rec.screen, ack.state.version);
          } else { emit({ event: "error", client: i, ack }); done(false); }
        });
      });
      s.on("connect_error", (err) => { emit({ event: "error", client: i, error: String(err && err.message) }); done(false); });
      s.on("disconnect", () => { disconnects++; if (rec.screen) rec.screen.connected = false; done(false); });
    });
  }

  let next = 0;
  async function worker() {
    while (next < count) await connectOne(next++);
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  connectMs.sort((a, b) => a - b);
  emit({
    event: "ready", subscribed, failed, connect_total_ms: now() - t0,
    connect_p50_ms: pct(connectMs, 50), connect_p99_ms: pct(connectMs, 99),
    connect_max_ms: connectMs[connectMs.length - 1] ?? null,
  });

  const rl = readline.createInterface({ input: process.stdin });
  rl.on("line", (line) => {
    if (line.trim() === "stats") {
      emit({ event: "stats", state_events: stateEvents, disconnects });
    } else if (line.trim() === "dump") {
      const sent = { hellos, hello_acks: helloAcks, shown: shownSent };
      fs.writeFileSync(out, JSON.stringify({ versions, clients: records, disconnects, subscribed, failed, pings_at: pingsAt, stalls, heartbeat: heartbeat ? sent : null }));
      for (const s of sockets) if (s) { s.removeAllListeners("disconnect"); s.disconnect(); }
      emit({ event: "done", state_events: stateEvents, disconnects });
      setTimeout(() => process.exit(0), 200);
    }
  });
  rl.on("close", () => process.exit(0));
}

async function chair() {
  const urls = arg("url").split(",").filter(Boolean).map((u) => new URL(u));
  const token = arg("token");
  const transport = arg("transport", "http");
  const rate = Number(arg("rate", 10));
  const duration = Number(arg("duration", 10));
  const commands = JSON.parse(fs.readFileSync(arg("commands"), "utf8"));
  const out = arg("out");
  const log = [];

  // One sender per URL (web node); command i goes to node i mod n.
  async function sender(url) {
    if (transport === "http") {
      // keep-alive, as a browser's fetch; "--keepalive 0" opens a connection per command.
      const agent = new http.Agent({ keepAlive: arg("keepalive", "1") === "1", maxSockets: 8 });
      return (body) => new Promise((resolve) => {
        const data = JSON.stringify(body);
        const req = http.request({
          host: url.hostname, port: url.port, path: "/api/commands", method: "POST", agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(data),
                     authorization: `Bearer ${token}` },
        }, (res) => {
          let b = "";
          res.on("data", (c) => (b += c));
          res.on("end", () => {
            let j = null;
            try { j = JSON.parse(b); } catch (e) { /* non-JSON */ }
            resolve({ status: res.statusCode, version: j && j.version, error: j && j.error });
          });
        });
        req.on("error", (e) => resolve({ status: 0, error: String(e) }));
        req.end(data);
      });
    }
    // Several chair sockets, round-robin: one socket may send only so many events
    // a second (the server's per-socket budget), as one chair's console would.
    const perNodeRate = rate / urls.length;
    const n = Number(arg("sockets", Math.max(1, Math.ceil(perNodeRate / 10))));
    const socks = [];
    for (let k = 0; k < n; k++) {
      const s = io(url.origin, { transports: ["websocket"], auth: { token }, forceNew: true });
      await new Promise((res, rej) => { s.on("connect", res); s.on("connect_error", rej); });
      socks.push(s);
    }
    let turn = 0;
    return (body) => new Promise((resolve) => {
      const s = socks[turn++ % socks.length];
      s.timeout(10000).emit("command", body, (err, ack) => {
        if (err) resolve({ status: 0, error: "timeout" });
        else resolve({ status: ack && ack.ok ? 200 : 400, version: ack && ack.version, error: ack && ack.error });
      });
    });
  }
  const senders = [];
  for (const u of urls) senders.push(await sender(u));

  const total = Math.max(1, Math.round(rate * duration));
  const start = now() + 50;
  const pending = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    // Each command carries its own id, as the consoles' commands do (the contract's
    // retry key): the server looks it up in the same step as the append.
    const body = { ...commands[i % commands.length], command_id: `bench-${process.pid}-${i}` };
    const node = i % senders.length;
    const tSend = now();
    pending.push(senders[node](body).then((r) => {
      log.push({ i, node, type: body.type, t_send: tSend, t_ack: now(), ...r });
    }));
  }
  await Promise.all(pending);
  log.sort((a, b) => a.i - b.i);
  fs.writeFileSync(out, JSON.stringify({ commands: log }));
  emit({ event: "done", sent: log.length });
  process.exit(0);
}

if (mode === "screens") screens();
else if (mode === "chair") chair().catch((e) => { emit({ event: "error", error: String(e) }); process.exit(1); });
else { console.error("usage: loadgen.js screens|chair ..."); process.exit(2); }
