/**
 * The client's connection, managed or raw, behind one small interface: open it with the
 * command line's settings (headers, subprotocols, TLS, deflate, pings, limits) over a tapped
 * socket, send frames, ping, close, and read what arrives.
 *
 * Managed (the default) is the library's managed session: it answers pings, echoes the server's
 * close, reassembles fragments. Raw (`--raw`) is the raw session: every frame arrives as it is
 * and nothing is automatic.
 *
 * @module
 */

import { createClient, type WebSocketClient } from "../client/client.ts";
import { webSocketRawSession } from "../client/raw_client.ts";
import { CloseReason } from "../core/close.ts";
import { Frame } from "../core/frame.ts";
import type { DefaultWebSocketSession } from "../session/managed_types.ts";
import { perMessageDeflate } from "../session/permessage_deflate.ts";
import type { RawWebSocketSession } from "../session/raw_session.ts";
import type { TlsOptions } from "../transport/connect.ts";
import { type ConnWrapper, WRAP_CONN } from "../transport/conn_wrapper.ts";
import type { ConnectSettings } from "./settings.ts";

/** A connection as the client command uses it. */
export interface ClientLink {
  /** Whether this is a raw session. */
  readonly raw: boolean;
  /** The subprotocol the server chose, or `""`. */
  readonly protocol: string;
  /** The server's `Sec-WebSocket-Extensions`, or `""`. */
  readonly extensions: string;
  /** Managed: complete messages. Raw: every frame. */
  readonly incoming: ReadableStream<Frame>;
  /** Whether a close frame was sent. */
  readonly closeSent: boolean;
  /**
   * Sends a frame (data, fragments, ping, pong).
   *
   * @param frame The frame.
   * @returns When the socket took it.
   */
  send(frame: Frame): Promise<void>;
  /**
   * Sends a ping. Managed: resolves with the round trip once the pong came. Raw: resolves with
   * `null` once sent (the pong arrives on `incoming`).
   *
   * @param data The payload.
   * @returns The round trip in ms, or `null`.
   */
  ping(data: Uint8Array): Promise<number | null>;
  /**
   * Sends a close frame. Managed: resolves once the handshake is over. Raw: once it is sent.
   *
   * @param code The code.
   * @param reason The reason.
   * @returns When done.
   */
  close(code: number, reason: string): Promise<void>;
  /** Closes the socket at once. */
  abort(): void;
  /** Releases the client (after the session ended). */
  dispose(): Promise<void>;
}

/**
 * Opens the connection `settings` describe, over sockets wrapped by `wrap`.
 *
 * @example
 * ```ts ignore
 * import { openClientLink } from "./client_link.ts";
 * import { parseCommandLine } from "./args.ts";
 *
 * const settings = parseCommandLine(["connect", "ws://127.0.0.1:8080/"]);
 * if (settings.command === "connect") {
 *   const link = await openClientLink(settings, { tls: undefined, wrap: (conn) => conn });
 *   await link.send(Frame.text("hello"));
 * }
 * ```
 *
 * @param settings The command line.
 * @param options TLS material (already read from files) and the socket wrapper.
 * @returns The open connection.
 * @throws The library's `HandshakeError`, `ConnectionError`, `TimeoutError`.
 */
export async function openClientLink(
  settings: ConnectSettings,
  options: { tls: TlsOptions | undefined; wrap: ConnWrapper },
): Promise<ClientLink> {
  const common = {
    headers: settings.headers,
    ...(settings.proxy === undefined ? {} : { proxy: settings.proxy }),
    followRedirects: settings.followRedirects,
    ...(settings.maxRedirects === undefined ? {} : { maxRedirects: settings.maxRedirects }),
    protocols: settings.protocols,
    tls: options.tls,
    connectTimeout: settings.connectTimeout,
    handshakeTimeout: settings.connectTimeout,
    closeTimeout: settings.closeTimeout,
    [WRAP_CONN]: options.wrap,
  };
  const limit = settings.maxMessageSize;
  if (settings.raw) {
    const session = await webSocketRawSession(settings.url, {
      ...common,
      ...(limit === undefined ? {} : { maxFrameSize: limit }),
    });
    return rawLink(session);
  }
  const client = createClient({
    ...common,
    pingInterval: settings.pingInterval,
    ...(settings.pingTimeout === undefined ? {} : { timeout: settings.pingTimeout }),
    ...(limit === undefined ? {} : { maxMessageSize: limit, maxFrameSize: limit }),
    extensions: settings.deflate === null ? [] : [perMessageDeflate(settings.deflate)],
    // A managed session drops messages that arrive after its close frame when its queue is
    // full; one socket read can deliver many small echoes at once, so the tool bounds the queue
    // by bytes only (reading still stops at 16 MiB queued).
    incomingQueue: { messages: Infinity, bytes: 16 * 1024 * 1024 },
  });
  try {
    const session = await client.webSocketSession(settings.url, { protocols: settings.protocols });
    return managedLink(client, session);
  } catch (err) {
    await client.close();
    throw err;
  }
}

function extensionsOf(session: { call: { response: { headers: Headers } } }): string {
  return session.call.response.headers.get("sec-websocket-extensions") ?? "";
}

function managedLink(client: WebSocketClient, session: DefaultWebSocketSession): ClientLink {
  let closeSent = false;
  return {
    raw: false,
    protocol: session.protocol,
    extensions: extensionsOf(session),
    incoming: session.incoming,
    get closeSent() {
      return closeSent || session.state !== "open";
    },
    send: (frame) => session.send(frame),
    ping: (data) => session.ping(data.length === 0 ? undefined : data),
    close: (code, reason) => {
      closeSent = true;
      return session.close(new CloseReason(code, reason));
    },
    abort: () => session.abort(),
    dispose: () => client.close(),
  };
}

function rawLink(session: RawWebSocketSession): ClientLink {
  let closeSent = false;
  return {
    raw: true,
    protocol: session.protocol,
    extensions: extensionsOf(session),
    incoming: session.incoming,
    get closeSent() {
      return closeSent;
    },
    send: (frame) => session.send(frame),
    ping: async (data) => {
      await session.send(Frame.ping(data));
      return null;
    },
    close: (code, reason) => {
      closeSent = true;
      return session.close(new CloseReason(code, reason));
    },
    abort: () => session.abort(),
    dispose: () => session.closed,
  };
}
