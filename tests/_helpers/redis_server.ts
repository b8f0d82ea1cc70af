/**
 * A real `redis-server` for the tests: started on a free loopback port with no persistence,
 * ready once it answers `PING`, stopped by the PID of the child process it spawned (and startable
 * again on the same port, to test restarts).
 *
 * Also a minimal RESP client ({@linkcode redisCommand}) for the tests' own probes (`CLIENT KILL`,
 * `FLUSHALL`), so they do not go through the code under test.
 *
 * @module
 */

export const REDIS_SERVER = "/usr/bin/redis-server";

/** A free loopback TCP port (bound, then released). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One reply: a string (simple or bulk), a number, null or an array of those. */
export type Reply = string | number | null | Reply[];

/**
 * Sends one command on a fresh connection and returns the reply (`-ERR` replies reject).
 *
 * @param port The server's port.
 * @param args The command and its arguments.
 */
export async function redisCommand(port: number, ...args: string[]): Promise<Reply> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    let request = `*${args.length}\r\n`;
    for (const a of args) request += `$${encoder.encode(a).length}\r\n${a}\r\n`;
    await conn.write(encoder.encode(request));
    let buffer = new Uint8Array(0);
    const chunk = new Uint8Array(65536);
    for (;;) {
      const parsed = parse(buffer, 0);
      if (parsed) {
        if (parsed[0] instanceof Error) throw parsed[0];
        return parsed[0];
      }
      const n = await conn.read(chunk);
      if (n === null) throw new Error("redis closed the connection");
      const next = new Uint8Array(buffer.length + n);
      next.set(buffer);
      next.set(chunk.subarray(0, n), buffer.length);
      buffer = next;
    }
  } finally {
    conn.close();
  }
}

/** Parses one RESP2 reply at `at`: `[value, end]`, or undefined when incomplete. */
function parse(b: Uint8Array, at: number): [Reply | Error, number] | undefined {
  const cr = b.indexOf(13, at);
  if (cr === -1 || cr + 1 >= b.length) return undefined;
  const line = decoder.decode(b.subarray(at + 1, cr));
  const next = cr + 2;
  switch (String.fromCharCode(b[at]!)) {
    case "+":
      return [line, next];
    case "-":
      return [new Error(line), next];
    case ":":
      return [Number(line), next];
    case "$": {
      const len = Number(line);
      if (len < 0) return [null, next];
      if (b.length < next + len + 2) return undefined;
      return [decoder.decode(b.subarray(next, next + len)), next + len + 2];
    }
    case "*": {
      const len = Number(line);
      if (len < 0) return [null, next];
      const items: Reply[] = [];
      let pos = next;
      for (let i = 0; i < len; i++) {
        const item = parse(b, pos);
        if (!item) return undefined;
        if (item[0] instanceof Error) return item;
        items.push(item[0]);
        pos = item[1];
      }
      return [items, pos];
    }
    default:
      throw new Error(`unexpected reply: ${line}`);
  }
}

/** A running `redis-server` child process. */
export class RedisServer {
  readonly port: number;
  readonly dir: string;
  readonly password: string | undefined;
  #child: Deno.ChildProcess | undefined;

  private constructor(port: number, dir: string, password: string | undefined) {
    this.port = port;
    this.dir = dir;
    this.password = password;
  }

  /** The URL to connect to (without the password). */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /**
   * Starts a server on a free port (fails clearly when redis-server is not installed).
   *
   * @param options `password`: the server requires it (`--requirepass`).
   */
  static async start(options: { password?: string } = {}): Promise<RedisServer> {
    try {
      await Deno.stat(REDIS_SERVER);
    } catch {
      throw new Error(`${REDIS_SERVER} is missing: run tools/setup.sh as root (redis-server)`);
    }
    const dir = await Deno.makeTempDir({ prefix: "ws-redis-" });
    const server = new RedisServer(freePort(), dir, options.password);
    await server.restart();
    return server;
  }

  /** Starts the server again (same port, empty data) after {@linkcode stop}. */
  async restart(): Promise<void> {
    if (this.#child) throw new Error("redis-server is running");
    this.#child = new Deno.Command(REDIS_SERVER, {
      args: [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        this.dir,
        ...(this.password === undefined ? [] : ["--requirepass", this.password]),
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const deadline = Date.now() + 10_000;
    let delay = 5;
    for (;;) {
      try {
        if (await redisCommand(this.port, "PING") === "PONG") return;
      } catch (error) {
        if (String(error).includes("NOAUTH")) return; // up, and wants the password

        if (Date.now() > deadline) {
          await this.stop();
          throw new Error(`redis-server on port ${this.port} did not answer PING`, {
            cause: error,
          });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 100);
    }
  }

  /** Kills the server process (SIGKILL: no chance to save anything) and waits for its exit. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
  }

  /** Stops the server and removes its directory. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
