"""A python-websockets echo server: an independent WebSocket peer for interop tests.

Start it from a Deno test with `startPythonScript` from tests/_helpers/python.ts:

    const py = await startPythonScript(
      new URL("./python_echo_server.py", import.meta.url).pathname,
      ["--compression", "none"],
    );
    // ... new WebSocket(`ws://127.0.0.1:${py.port}/`) ...
    await py.stop();

It binds 127.0.0.1 on a free port, prints `PORT <port> websockets <version>` (flushed) as its first
stdout line, then echoes every message (text as text, binary as binary) on every connection until
it is killed (SIGTERM or SIGINT).

Options:
  --compression deflate|none   permessage-deflate offer handling (default: deflate, as websockets)
  --subprotocol NAME           accept this subprotocol when the client offers it (repeatable)
  --max-size BYTES             largest message accepted; 0 = no limit (default: 64 MiB; note
                               websockets' own default is 1 MiB)

Server-initiated keepalive pings are turned off so that tests see only the frames they cause.
Written for Debian's python3-websockets 10.4 (run by /usr/bin/python3); works with newer releases.
"""

import argparse
import asyncio
import sys

import websockets


async def echo(ws, path=None):  # websockets 10.x passes (ws, path); >= 13 passes (ws)
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compression", choices=["deflate", "none"], default="deflate")
    parser.add_argument("--subprotocol", action="append", default=[], metavar="NAME")
    parser.add_argument("--max-size", type=int, default=64 * 1024 * 1024, metavar="BYTES")
    args = parser.parse_args()

    async with websockets.serve(
        echo,
        "127.0.0.1",
        0,
        compression="deflate" if args.compression == "deflate" else None,
        subprotocols=args.subprotocol or None,
        max_size=args.max_size or None,
        ping_interval=None,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"PORT {port} websockets {websockets.__version__}", flush=True)
        await asyncio.Future()  # serve until killed


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
