/**
 * Real proxies for the client's proxy tests, started on free loopback ports and stopped by PID:
 *
 * - Debian's `tinyproxy` (HTTP `CONNECT`), with or without Basic authentication;
 * - Debian's `danted` (dante-server, SOCKS5), with `socksmethod: none` or `username` (system
 *   password authentication of the test user that tools/setup.sh creates).
 *
 * Each proxy's log lines are kept (`log`), so a test can tell that a connection went through it.
 * tools/setup.sh installs both packages and creates the user; a missing one fails with a message
 * that says so.
 *
 * @module
 */

import { lines } from "./lines.ts";

/** The SOCKS test user (created by tools/setup.sh) and its password. */
export const SOCKS_USER = { username: "wsproxytest", password: "ws-proxy-pass" };
/** The tinyproxy Basic credentials. */
export const HTTP_PROXY_USER = { username: "alice", password: "s3cret-proxy" };

const START_TIMEOUT_MS = 10_000;

/** A running proxy. */
export interface RunningProxy {
  /** Its port on 127.0.0.1. */
  port: number;
  /** `http://127.0.0.1:port` or `socks5://127.0.0.1:port` (no credentials). */
  url: string;
  /** The log lines so far. */
  log: string[];
  /** Stops it (SIGTERM to its PID) and waits for it. */
  stop(): Promise<void>;
  /** Same as `stop`. */
  [Symbol.asyncDispose](): Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Spawns `command`, collecting stdout and stderr lines, until a line matches `ready`. */
async function spawnUntil(
  command: string,
  args: string[],
  ready: RegExp,
  hint: string,
): Promise<{ log: string[]; stop: () => Promise<void> }> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`${command} not found: run tools/setup.sh (${hint})`, { cause: err });
    }
    throw err;
  }
  const log: string[] = [];
  const seen = Promise.withResolvers<boolean>();
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const line of lines(stream)) {
      log.push(line);
      if (ready.test(line)) seen.resolve(true);
    }
  };
  const collecting = Promise.all([collect(child.stdout), collect(child.stderr)]).catch(() => {});
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already exited */ }
      await child.status;
      await collecting;
    })();
    return stopped;
  };
  child.status.then(() => seen.resolve(false));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), START_TIMEOUT_MS);
  });
  const ok = await Promise.race([seen.promise, timeout]);
  clearTimeout(timer);
  if (!ok) {
    await stop();
    throw new Error(`${command} did not start (${hint}):\n${log.join("\n")}`);
  }
  return { log, stop };
}

/** Writes a config file in a new temporary directory. */
async function configFile(name: string, text: string): Promise<{ path: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "wirestream-proxy-" });
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, text);
  return { path, dir };
}

/**
 * Starts tinyproxy on a free port of 127.0.0.1.
 *
 * @param options `auth` for Basic authentication (HTTP_PROXY_USER); `connectPorts` to allow
 *   `CONNECT` to those ports only (others get 403); every port otherwise.
 */
export async function startTinyproxy(
  options?: { auth?: boolean; connectPorts?: number[] },
): Promise<RunningProxy> {
  const port = freePort();
  const lines = [
    `Port ${port}`,
    "Listen 127.0.0.1",
    "Timeout 30",
    "MaxClients 64",
    "Allow 127.0.0.1",
    "LogLevel Info",
    ...(options?.auth ? [`BasicAuth ${HTTP_PROXY_USER.username} ${HTTP_PROXY_USER.password}`] : []),
    ...(options?.connectPorts ?? []).map((p) => `ConnectPort ${p}`),
  ];
  const { path, dir } = await configFile("tinyproxy.conf", lines.join("\n") + "\n");
  try {
    const { log, stop } = await spawnUntil(
      "tinyproxy",
      ["-d", "-c", path],
      /Accepting connections/,
      "apt-get install tinyproxy",
    );
    const url = `http://127.0.0.1:${port}`;
    const done = async () => {
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    };
    return { port, url, log, stop: done, [Symbol.asyncDispose]: done };
  } catch (err) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
}

/**
 * Starts danted on a free port of 127.0.0.1, for `CONNECT` to loopback targets.
 *
 * @param options `auth` for username/password authentication against the system password of
 *   SOCKS_USER (needs root, and the user tools/setup.sh creates); no authentication otherwise.
 */
export async function startDante(options?: { auth?: boolean }): Promise<RunningProxy> {
  const port = freePort();
  const config = [
    "logoutput: stderr",
    `internal: 127.0.0.1 port = ${port}`,
    "external: 127.0.0.1",
    `socksmethod: ${options?.auth ? "username" : "none"}`,
    "clientmethod: none",
    "user.privileged: root",
    "user.unprivileged: nobody",
    "client pass {",
    "  from: 127.0.0.0/8 to: 0.0.0.0/0",
    "  log: error",
    "}",
    "socks pass {",
    "  from: 127.0.0.0/8 to: 0.0.0.0/0",
    "  command: connect",
    "  log: error connect",
    "}",
  ];
  const { path, dir } = await configFile("danted.conf", config.join("\n") + "\n");
  try {
    const { log, stop } = await spawnUntil(
      "/usr/sbin/danted",
      ["-f", path, "-N", "1", "-p", `${dir}/danted.pid`],
      /running/,
      "apt-get install dante-server; the SOCKS tests need root and the wsproxytest user",
    );
    const url = `socks5://127.0.0.1:${port}`;
    const done = async () => {
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    };
    return { port, url, log, stop: done, [Symbol.asyncDispose]: done };
  } catch (err) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
}

/** `scheme://user:pass@127.0.0.1:port` for a running proxy. */
export function withCredentials(
  proxy: RunningProxy,
  credentials: { username: string; password: string },
  scheme?: string,
): string {
  const url = new URL(proxy.url);
  if (scheme !== undefined) url.protocol = scheme;
  url.username = encodeURIComponent(credentials.username);
  url.password = encodeURIComponent(credentials.password);
  return url.href.replace(/\/$/, "");
}
