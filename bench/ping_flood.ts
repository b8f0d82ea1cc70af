/**
 * What a hostile peer costs a managed session, measured from outside the process under test:
 * its RSS (`/proc/PID/status`) during 8 s of 125-byte pings from a peer that never reads (a
 * listener's route flooded by a client; a managed client flooded by a server), how much of the
 * flood that process read (the rest is held back by TCP), how the flooded client ended when its
 * server went away, and the sessions a listener still counts 2 s after 20 clients of a route that
 * does not read sent 40 messages each and disconnected.
 *
 *     deno run -A bench/ping_flood.ts [CHECKOUT]   # CHECKOUT: the tree to measure (default: this one)
 *
 * @module
 */
// deno-lint-ignore-file no-explicit-any

const root = Deno.args.find((a) => !a.startsWith("--")) ??
  new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const clientOf = Deno.args.find((a) => a.startsWith("--client="))?.slice("--client=".length);

if (clientOf !== undefined) {
  // A managed client that never reads (it has no messages to read: the flood is pings).
  const { webSocketSession } = await import(`file://${root}/mod.ts`);
  const session = await webSocketSession(`ws://127.0.0.1:${clientOf}/`);
  console.log("open");
  console.log(`closed ${(await session.closeReason).code}`);
} else if (Deno.args.includes("--serve")) {
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
  const { computeAccept } = await import(`file://${root}/src/core/handshake_key.ts`);
  const spawn = (mode: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", import.meta.filename!, mode, root],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
  /** The child's next line of output. */
  const lines = (child: Deno.ChildProcess) => {
    const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    return async (): Promise<string> => {
      while (!buf.includes("\n")) {
        const { value, done } = await out.read();
        if (done) throw new Error("the child ended");
        buf += value;
      }
      const i = buf.indexOf("\n");
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      return l;
    };
  };
  const rss = (pid: number) => {
    const s = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/VmRSS:\s+(\d+)/.exec(s)![1]) / 1024;
  };
  const mask = new Uint8Array([1, 2, 3, 4]);
  /** 8 s of 125-byte pings on `conn`, never reading; the RSS of `pid` before and at its peak. */
  const flood = async (conn: Deno.Conn, masked: boolean, pid: number) => {
    const ping = encodeFrame(Frame.ping(new Uint8Array(125).fill(7)), {
      maskKey: masked ? mask : undefined,
    });
    const batch = new Uint8Array(ping.length * 1000);
    for (let i = 0; i < 1000; i++) batch.set(ping, i * ping.length);
    const before = rss(pid);
    let peak = before;
    let sent = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rss(pid));
    }, 100);
    const stop = setTimeout(() => conn.close(), 8000);
    try {
      while (true) {
        let off = 0;
        while (off < batch.length) off += await conn.write(batch.subarray(off));
        sent += 1000;
      }
    } catch { /* closed at 8 s */ }
    clearTimeout(stop);
    clearInterval(sampler);
    peak = Math.max(peak, rss(pid));
    return `${sent} pings written in 8 s; RSS ${before.toFixed(1)} MB before, peak ${
      peak.toFixed(1)
    } MB (+${(peak - before).toFixed(1)})`;
  };

  const child = spawn("--serve");
  const line = lines(child);
  const port = Number(await line());
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
  // Ping flood: 8 s of 125-byte pings from one client that never reads.
  console.log(
    `ping flood on a listener's route: ${await flood(await open("/echo"), true, child.pid)}`,
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

  // A managed client flooded by a server that never reads, which then goes away.
  const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = spawn(`--client=${tcp.addr.port}`);
  const clientLine = lines(client);
  const conn = await tcp.accept();
  const head = new Uint8Array(4096);
  const n = await conn.read(head);
  const key =
    /sec-websocket-key:\s*(\S+)/i.exec(new TextDecoder().decode(head.subarray(0, n!)))![1];
  const reply =
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${
      computeAccept(key)
    }\r\n\r\n`;
  await conn.write(new TextEncoder().encode(reply));
  await clientLine(); // open
  console.log(`ping flood on a managed client: ${await flood(conn, false, client.pid)}`);
  const guard = Promise.withResolvers<string>();
  const timer = setTimeout(() => guard.resolve("still open 10 s after its server left"), 10_000);
  console.log(
    `  then the server left: the client ${await Promise.race([clientLine(), guard.promise])}`,
  );
  clearTimeout(timer);
  tcp.close();
  try {
    client.kill();
  } catch { /* ended */ }
  await client.status;
}
