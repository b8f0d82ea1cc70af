/**
 * A chat server: the page comes from the fallback handler, messages go through a managed route,
 * and each room is a topic: a message is published once (`server.publish`) and reaches every
 * member of the room.
 *
 * ```sh
 * deno run -A examples/chat_server.ts [--port 8080] [--hostname 127.0.0.1] [--redis URL]
 * ```
 *
 * With `--redis redis://127.0.0.1:6379`, rooms are shared through Redis: start several
 * processes on different ports, and members connected to any of them chat together (the
 * "N here" count is per process).
 *
 * Open http://127.0.0.1:8080/ in a few browser tabs; the room is the URL's hash
 * (http://127.0.0.1:8080/#random), the lobby without one, and the page says so and links to
 * others. Each line shows the time the server stamped on it. The WebSocket route is
 * `/chat/:room?name=NAME`; each message is JSON: `{ "from", "text", "at" }`, and the server
 * announces joins and leaves. The upgrade hook checks the origin against the page's own and
 * refuses empty names with 400.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createServer, type DefaultWebSocketServerSession, jsonConverter } from "../server.ts";
import { redisBackplane } from "../redis.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string", default: "8080" },
    hostname: { type: "string", default: "127.0.0.1" },
    redis: { type: "string" },
  },
});

interface Member {
  name: string;
}

type ChatSession = DefaultWebSocketServerSession<Member>;

/** Members of each room connected to this process (the count the join and leave lines show). */
const here = new Map<string, number>();

/**
 * Publishes an event to the room's topic: encoded once, sent to every member. A member too slow
 * to keep up is closed with 1013 (the default policy) rather than holding up the others.
 */
function broadcast(room: string, event: Record<string, unknown>): Promise<unknown> {
  return server.publish(`chat:${room}`, JSON.stringify({ ...event, at: new Date().toISOString() }));
}

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>wirestream chat</title>
<style>
  body { font: 15px system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; }
  #log { border: 1px solid #ccc; height: 20rem; overflow-y: auto; padding: .5rem; }
  .sys { color: #777; font-style: italic; }
  time { color: #777; font-variant-numeric: tabular-nums; margin-right: .5em; }
  #rooms { color: #444; }
</style>
<h1>Room <span id="room"></span></h1>
<p id="rooms">
  The room is the part of this page's address after <code>#</code>: <code id="here"></code>.
  Everyone on the same <code>#room</code> sees the same messages (no <code>#</code>: the lobby).
  Switch to <a href="#lobby">#lobby</a>, <a href="#random">#random</a>, or
  <form id="go" style="display: inline"><input id="to" placeholder="another room" size="12">
  <button>Go</button></form>
</p>
<div id="log"></div>
<form id="form"><input id="text" autocomplete="off" size="50" autofocus> <button>Send</button></form>
<script>
  const decode = (s) => { try { return decodeURIComponent(s); } catch { return s; } };
  const room = decode(location.hash.slice(1)) || "lobby";
  // Another room is another page: reload to join it.
  addEventListener("hashchange", () => location.reload());
  document.getElementById("go").onsubmit = (e) => {
    e.preventDefault();
    const to = document.getElementById("to").value.trim();
    if (to) location.hash = encodeURIComponent(to);
  };
  const name = prompt("Your name?", "guest") || "guest";
  document.getElementById("room").textContent = room;
  const here = new URL(location.href);
  here.hash = encodeURIComponent(room);
  document.getElementById("here").textContent = here.href;
  const log = document.getElementById("log");
  // Every message the server sends has "at", the time it was sent (ISO 8601).
  const show = (text, cls, at) => {
    const line = document.createElement("div");
    const time = document.createElement("time");
    const when = at ? new Date(at) : new Date();
    time.dateTime = when.toISOString();
    time.textContent = when.toLocaleTimeString();
    time.title = when.toLocaleString();
    line.append(time, text);
    if (cls) line.className = cls;
    log.append(line);
    log.scrollTop = log.scrollHeight;
  };
  const url = new URL("/chat/" + encodeURIComponent(room), location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.hash = "";
  url.searchParams.set("name", name);
  const ws = new WebSocket(url);
  ws.onopen = () => show("connected to #" + room + " as " + name, "sys");
  ws.onclose = (e) => show("disconnected (" + e.code + " " + e.reason + ")", "sys");
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.type === "message") show(m.from + ": " + m.text, "", m.at);
    else show(m.from + " " + m.type + (m.count ? " (" + m.count + " here)" : ""), "sys", m.at);
  };
  document.getElementById("form").onsubmit = (e) => {
    e.preventDefault();
    const input = document.getElementById("text");
    if (input.value) ws.send(JSON.stringify({ text: input.value }));
    input.value = "";
  };
</script>
`;

const server = createServer({
  converter: jsonConverter(),
  pingInterval: 30_000,
  timeout: 10_000,
  maxMessageSize: 64 * 1024,
  // One process by default; with --redis, every process on the same Redis shares the rooms.
  topics: values.redis === undefined ? {} : { backplane: redisBackplane({ url: values.redis }) },
  fallback: (request) => {
    const url = new URL(request.url);
    if (url.pathname === "/" && (request.method === "GET" || request.method === "HEAD")) {
      return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
    }
    return new Response("Not Found", { status: 404 });
  },
  // Only pages served by this server may open chat sessions.
  upgrade: (request, context) => {
    const host = request.headers.get("host");
    if (context.origin !== null && new URL(context.origin).host !== host) {
      return new Response("Cross-origin chat is not allowed", { status: 403 });
    }
    return undefined;
  },
});

server.webSocket<Member>("/chat/:room", async (session: ChatSession) => {
  const room = session.params.room!;
  const { name } = session.data;
  await session.subscribe(`chat:${room}`);
  const count = (here.get(room) ?? 0) + 1;
  here.set(room, count);
  await broadcast(room, { type: "joined", from: name, count });
  try {
    while (true) {
      const message = await session.receiveDeserialized((v): v is { text: string } =>
        typeof v === "object" && v !== null && typeof (v as { text: unknown }).text === "string"
      );
      await broadcast(room, { type: "message", from: name, text: message.text.slice(0, 1000) });
    }
  } catch {
    // The session ended (or sent something that is not a chat message): leave the room.
  } finally {
    const left = here.get(room)! - 1;
    if (left === 0) here.delete(room);
    else here.set(room, left);
    session.unsubscribe(`chat:${room}`);
    if (left > 0) await broadcast(room, { type: "left", from: name, count: left }).catch(() => {});
  }
}, {
  upgrade: (request) => {
    const name = new URL(request.url).searchParams.get("name")?.trim() ?? "";
    if (name === "" || name.length > 40) {
      return new Response("A name of 1 to 40 characters is required", { status: 400 });
    }
    return { data: { name } };
  },
});

const listener = server.listen({ port: Number(values.port), hostname: values.hostname });
console.log(`chat on http://${listener.addr.hostname}:${listener.addr.port}/`);

const stop = () => server.shutdown();
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
await listener.finished;
Deno.removeSignalListener("SIGINT", stop);
Deno.removeSignalListener("SIGTERM", stop);
console.log("stopped");
