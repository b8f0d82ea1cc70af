/**
 * The `--help` pages of the command-line tool, and its exit codes.
 *
 * @module
 */

import type { HelpTopic } from "./settings.ts";

/**
 * The exit codes, distinct and stable.
 *
 * @example
 * ```ts
 * import { ExitCode } from "./help.ts";
 *
 * console.log(ExitCode.HANDSHAKE_REFUSED); // 4
 * ```
 */
export const ExitCode = {
  /** The connection closed normally (the server's close code is not judged unless asked). */
  OK: 0,
  /** Something else went wrong: a file that cannot be read, an internal error. */
  ERROR: 1,
  /** The command line is wrong. */
  USAGE: 2,
  /** The connection failed: DNS, refused, TLS, a timeout, or it was lost without a close frame. */
  CONNECTION_FAILED: 3,
  /** The server refused the upgrade (its HTTP status is printed) or answered it wrongly. */
  HANDSHAKE_REFUSED: 4,
  /** The peer broke the WebSocket protocol; the close code sent is printed. */
  PROTOCOL_ERROR: 5,
  /** The server's close code was not the one `--expect-close` asked for. */
  UNEXPECTED_CLOSE: 6,
} as const;

const EXIT_CODES = `Exit codes:
  0  the connection closed normally (any close code, unless --expect-close is given)
  1  another error (a file that cannot be read, an internal error)
  2  bad usage (unknown flag, bad value, missing URL)
  3  connection failed: DNS, refused, TLS, timeout, or lost without a close frame
  4  handshake refused: the server answered the upgrade with another status (printed)
  5  protocol error: the peer broke RFC 6455 (the close code sent is printed)
  6  the server's close code was not the one --expect-close asked for`;

const MAIN = `wirestream: a WebSocket client, server and frame inspector

Usage:
  wirestream connect URL [flags]     talk to a WebSocket server
  wirestream listen [PORT] [flags]   run a WebSocket server (echo, print, broadcast, exec)
  wirestream help [connect|listen]   this text, or a command's flags
  wirestream --version

Run it with "deno run -A jsr:@wirestream/ws/cli ...", or locally "deno task cli ...".

Examples:
  wirestream connect ws://127.0.0.1:8080/chat                 type messages, /help for commands
  echo hello | wirestream connect ws://127.0.0.1:8080/echo    send, print the answer, close
  wirestream connect wss://example.com/ws --show-frames --raw  see every frame, answer by hand
  wirestream listen 8080 --echo                               an echo server on 127.0.0.1:8080
  wirestream listen 8080 --exec 'sed -u s/^/got:/'           one program per connection

${EXIT_CODES}
`;

const CONNECT = `Usage: wirestream connect URL [flags]

Connects to URL (ws:// or wss://; http(s):// is taken as ws(s)://). When stdin is a terminal
you type: each line is a text message, and lines starting with / are commands. Otherwise stdin
is read as messages; at its end the connection is closed with 1000 once everything is sent.
Received messages go to stdout, one per line; notices and the inspector go to stderr.

Commands (typed, or given with -x):
  /ping [data]             send a ping; the round trip is printed when the pong comes
  /pong [data]             send a pong (in --raw: answers the last ping with its data)
  /close [code] [reason]   start the close handshake (default 1000)
  /binary <hex|base64|@file>  send a binary message (hex:…, base64:… to be explicit)
  /fragment A|B|C          send one text message as fragments A, B, C (no |: in two halves)
  /quit                    close with 1000 and leave (also Ctrl-D, Ctrl-C)
  /help                    the commands
  //text                   send "/text"

Connection:
  -H, --header "Name: value"   add a request header (repeatable)
  --auth USER:PASSWORD         HTTP Basic authorization
  --origin ORIGIN              the Origin header
  -s, --subprotocol NAME       offer a subprotocol (repeatable, or comma-separated)
  --ca FILE                    trust this PEM CA certificate too (repeatable)
  --cert FILE, --key FILE      a client certificate and its key (mutual TLS)
  -k, --insecure               do not verify the server's certificate (re-runs Deno with
                               --unsafely-ignore-certificate-errors; not in compiled binaries)
  --deflate                    offer permessage-deflate
  --deflate-params PARAMS      its RFC 7692 parameters, e.g.
                               "server_no_context_takeover; client_max_window_bits=10"
  --ping-interval DURATION     send a ping every DURATION (2, 0.5, 500ms, 1m)
  --ping-timeout DURATION      close when a pong takes longer (default: 2 x interval)
  --max-message-size SIZE      the largest message accepted (default 16M)
  --connect-timeout DURATION   for TCP, TLS and the upgrade each (default 10s)
  --close-timeout DURATION     for the close handshake (default 5s)
  --proxy URL                  connect through this proxy: http://[user:pass@]host:port
                               (CONNECT), socks5://… or socks5h://… (the proxy resolves the
                               name); "none" for a direct connection. Without it, the proxy
                               environment is used (WSS_PROXY, HTTPS_PROXY, ALL_PROXY, WS_PROXY,
                               HTTP_PROXY, NO_PROXY)
  -L, --location               follow redirects (301, 302, 303, 307, 308; never wss: to ws:)
  --max-redirs N               the most redirects -L follows (default 10)
  --reconnect                  when the connection ends transiently (dropped, 1001, 1011-1014),
                               reconnect after a random delay (up to 1s), then a jittered
                               exponential backoff (up to 60s); piped stdin goes on to the new
                               connection

Messages:
  -x, --execute LINE           send LINE (a message or a /command) after connecting
                               (repeatable); stdin is then not read
  -w, --wait DURATION          after the input (stdin or -x) ends, wait this long, then close
  -n, --no-close               keep the connection open after the input ends
  --framing line|null|whole    cut piped stdin at newlines (default), NUL bytes, or not at all
  --input text|hex|base64|binary  each piece is a text message (default), hex or base64 of a
                               binary message, or a binary message as it is
  --output hex|base64|raw      print binary messages as hex (default), base64, or raw bytes
  --binary                     --input binary --output raw
  --json                       pretty-print text messages that are JSON
  --expect-close CODE          exit with 6 unless the server closes with CODE

Inspector:
  --show-frames                every frame in and out on stderr: direction, time since the
                               previous frame, opcode, FIN, RSV, mask, length, a preview,
                               close codes in words; the handshake; a summary at the end
  --raw                        nothing automatic: pings are not answered, the server's close
                               is not echoed, fragments are printed as they come; answer by
                               hand with /pong and /close
  -q, --quiet                  no notices (errors and the inspector still print)

Examples:
  wirestream connect ws://127.0.0.1:8080/ -H "Authorization: Bearer t0ken" -s chat.v1
  printf 'a\\nb\\n' | wirestream connect ws://127.0.0.1:8080/echo
  wirestream connect ws://127.0.0.1:8080/ --binary --framing whole < photo.png
  wirestream connect ws://127.0.0.1:8080/ -x '{"op":"sub"}' -w 5 --json
  wirestream connect ws://127.0.0.1:8080/ -x /ping -x '/close 4000 bye' --show-frames
  wirestream connect ws://127.0.0.1:8080/ --expect-close 1000 < requests.txt

${EXIT_CODES}
`;

const LISTEN = `Usage: wirestream listen [PORT] [flags]

Serves WebSocket connections on 127.0.0.1:PORT (default 8080; 0 picks a free port, printed on
stderr). Each connection gets an id (#1, #2, ...). By default the server broadcasts: every line
typed or piped goes to all connected clients (stdin is read only while a client is connected),
and each client's messages are printed with its id. Ctrl-C closes every connection with 1001.

Modes:
  (default)                    broadcast stdin, print what arrives
  --echo                       send every message back to its sender
  --exec COMMAND               run COMMAND (with sh -c) per connection: each message is a line
                               on its stdin, each line of its stdout is a message; the
                               connection closes when it exits. Programs that buffer a pipe
                               (tr, sed and grep without -u/--line-buffered) answer late

Flags:
  --host ADDRESS               the address to bind (default 127.0.0.1; 0.0.0.0 for all)
  --path PATH                  serve only this path (URLPattern, e.g. /chat/:room; default all)
  --protocol NAME              accept this subprotocol when offered (repeatable, preferred first)
  --deflate, --deflate-params PARAMS   accept permessage-deflate (see connect --help)
  --cert FILE, --key FILE      serve TLS (wss://) with this PEM certificate chain and key
  --ping-interval DURATION     ping every client this often; --ping-timeout DURATION
  --max-message-size SIZE      the largest message accepted (default 16M)
  --max-connections N          refuse more connections at once (503)
  --show-frames                the inspector, for every connection (lines start with its id)
  --framing, --input, --output, --binary, --json   as for connect
  -q, --quiet                  no connection notices

Examples:
  wirestream listen 8080 --echo --show-frames
  wirestream listen 0 --protocol chat.v1 --deflate
  wirestream listen 8443 --cert cert.pem --key key.pem
  wirestream listen 8080 --exec 'jq --unbuffered -c .'

${EXIT_CODES}
`;

/**
 * The help page of a topic.
 *
 * @example
 * ```ts
 * import { helpText } from "./help.ts";
 *
 * console.log(helpText("connect").split("\n")[0]); // Usage: wirestream connect URL [flags]
 * ```
 *
 * @param topic The page.
 * @returns Its text.
 */
export function helpText(topic: HelpTopic): string {
  return topic === "connect" ? CONNECT : topic === "listen" ? LISTEN : MAIN;
}
