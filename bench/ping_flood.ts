/**
 * What a hostile peer costs a listener's managed route, measured from outside the server
 * process: the server's RSS (`/proc/PID/status`) during 8 s of 125-byte pings from a client
 * that never reads, and the sessions still counted 2 s after 20 clients of a route that does not
 * read sent 40 messages each and disconnected.
 *
 *     deno run -A bench/ping_flood.ts [CHECKOUT]   # CHECKOUT: the tree to measure (default: this one)
 *
 * @module
 */
// deno-lint-ignore-file no-explicit-any

const root = Deno.args.find((a) => !a.startsWith("--")) ??
  new URL("..", import.meta.url).pathname.replace(/\/$/, "");

if (Deno.args.includes("--serve")) {
  const { createServer } = await import(`file://${root}/server.ts`);
  const server = createServer({ onError: () => {} });
  server.webSocket("/echo", async (s: any) => {
    for await (const m of s.incoming) await s.send(m);
  });
  server.webSocket("/idle", async (s: any) => {
    await s.closeReason;
  });
  const listener = server.listen({ hostname: "127.0.0.1", port: 0 });
  console.log(listener.addr.port);
  const ctl = Deno.stdin.readable.getReader();
  while (true) {
    const { done } = await ctl.read();
    console.log(`connections ${server.connections ?? "?"}`);
    if (done) break;
  }
  await listener.shutdown();
} else {
  const { encodeFrame } = await import(`file://${root}/src/core/frame_encoder.ts`);
  const { Frame } = await import(`file://${root}/src/core/frame.ts`);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", import.meta.filename!, "--serve", root],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const line = async (): Promise<string> => {
    while (!buf.includes("\n")) {
      const { value } = await out.read();
      buf += value;
    }
    const i = buf.indexOf("\n");
    const l = buf.slice(0, i);
    buf = buf.slice(i + 1);
    return l;
  };
  const port = Number(await line());
  const rss = () => {
    const s = Deno.readTextFileSync(`/proc/${child.pid}/status`);
    return Number(/VmRSS:\s+(\d+)/.exec(s)![1]) / 1024;
  };
  const mask = new Uint8Array([1, 2, 3, 4]);
  const open = async (path: string) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const req =
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    await conn.write(new TextEncoder().encode(req));
    const b = new Uint8Array(4096);
    const n = await conn.read(b);
    if (!new TextDecoder().decode(b.subarray(0, n ?? 0)).startsWith("HTTP/1.1 101")) {
      console.log(new TextDecoder().decode(b.subarray(0, n ?? 0)));
    }
    return conn;
  };
  const before = rss();
  // Ping flood: 8 s of 125-byte pings from one client that never reads.
  const flood = await open("/echo");
  const ping = encodeFrame(Frame.ping(new Uint8Array(125).fill(7)), { maskKey: mask });
  const batch = new Uint8Array(ping.length * 1000);
  for (let i = 0; i < 1000; i++) batch.set(ping, i * ping.length);
  let peak = before;
  let sent = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rss());
  }, 100);
  const stop = setTimeout(() => flood.close(), 8000);
  try {
    while (true) {
      let off = 0;
      while (off < batch.length) off += await flood.write(batch.subarray(off));
      sent += 1000;
    }
  } catch { /* closed at 8 s */ }
  clearTimeout(stop);
  clearInterval(sampler);
  peak = Math.max(peak, rss());
  console.log(
    `ping flood: ${sent} pings written in 8 s; server RSS ${before.toFixed(1)} MB before, peak ${
      peak.toFixed(1)
    } MB`,
  );

  // Vanished peers on a route that does not read: 20 clients send 40 messages, then close.
  for (let c = 0; c < 20; c++) {
    const conn = await open("/idle");
    for (let i = 0; i < 40; i++) {
      const f = encodeFrame(Frame.text(`m${i}`), { maskKey: mask });
      let o = 0;
      while (o < f.length) o += await conn.write(f.subarray(o));
    }
    conn.close();
  }
  await new Promise((r) => setTimeout(r, 2000));
  const w = child.stdin.getWriter();
  await w.write(new Uint8Array([10]));
  console.log(`vanished peers: 2 s after 20 clients left, the server ${(await line())}`);
  await w.close();
  await line().catch(() => {});
  await child.status;
}
