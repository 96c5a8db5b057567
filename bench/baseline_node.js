// Reference server: the Node.js socket.io implementation of the same protocol.
// Same routes as baseline_server.py: a command stamps a new version on a fixed
// payload and broadcasts it as "state" to the room's subscribers.
//   node bench/baseline_node.js --port 5200 --payload-bytes 1500
"use strict";
const http = require("http");
const { Server } = require("socket.io");

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const host = arg("host", "127.0.0.1");
const port = Number(arg("port", 5200));
const payloadBytes = Number(arg("payload-bytes", 1500));

function makePayload(room) {
  const base = {
    room: { id: room, name: { es: "Plenaria", en: "Plenary" }, venue: "bench" },
    version: "0000000000000-0", server_time: 0.0, session: null,
    speakers: { current: null, queue: [], list_closed: false },
    announcements: [], pad: "",
  };
  base.pad = "x".repeat(Math.max(0, payloadBytes - JSON.stringify(base).length));
  return base;
}
const payloads = new Map();
const state = (room) => {
  if (!payloads.has(room)) payloads.set(room, makePayload(room));
  return payloads.get(room);
};
let lastMs = 0, seq = 0;
function nextVersion() {
  const ms = Date.now();
  if (ms <= lastMs) seq += 1; else { lastMs = ms; seq = 0; }
  return `${lastMs}-${seq}`;
}
let io;
function broadcast(body) {
  const room = String((body && body.room) || "plenary");
  const version = nextVersion();
  io.to(`room:${room}`).emit("state", { ...state(room), version, server_time: Date.now() / 1000 });
  return { version, events: [{ type: body && body.type, room }] };
}

const server = http.createServer((req, res) => {
  const send = (code, obj) => {
    const b = JSON.stringify(obj);
    res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(b) });
    res.end(b);
  };
  if (req.method === "POST" && req.url === "/api/commands") {
    let data = "";
    req.on("data", (c) => (data += c));
    req.on("end", () => {
      let body = {};
      try { body = JSON.parse(data || "{}"); } catch (e) { /* empty body */ }
      send(200, broadcast(body));
    });
  } else if (req.url === "/healthz" || req.url === "/readyz") {
    send(200, { ok: true });
  } else if (req.url.startsWith("/api/rooms/")) {
    send(200, state(decodeURIComponent(req.url.slice("/api/rooms/".length))));
  } else if (!req.url.startsWith("/socket.io/")) {
    send(404, { error: { code: "not_found", message: "no such route" } });
  }
});
io = new Server(server, { cors: { origin: "*" }, perMessageDeflate: false });
io.on("connection", (socket) => {
  socket.on("subscribe", (data, ack) => {
    const room = String((data && data.room) || "plenary");
    socket.join(`room:${room}`);
    if (typeof ack === "function") ack({ ok: true, state: state(room) });
  });
  socket.on("command", (data, ack) => {
    const r = broadcast(data || {});
    if (typeof ack === "function") ack({ ...r, ok: true });
  });
});
server.listen(port, host, () => console.log(`node baseline ready on ${host}:${port}`));
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
