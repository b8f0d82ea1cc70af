"""A python-websockets peer with configurable permessage-deflate, for interop tests.

Start it from a Deno test with `startPythonScript` from tests/_helpers/python.ts.

Server role (the default): binds 127.0.0.1 on a free port, prints
`PORT <port> websockets <version>` (flushed), then echoes every message on every connection
until killed.

Client role (`--connect URL`): connects to URL, prints `PORT 0 <negotiated extension>`
(flushed), then echoes every message it receives until the server closes the connection.

Options (RFC 7692 parameters, as python-websockets' factories take them):
  --server-no-context-takeover
  --client-no-context-takeover
  --server-max-window-bits N
  --client-max-window-bits N     (client role: 0 offers the parameter without a value)
  --max-size BYTES               largest message; 0 = no limit (default: 64 MiB)

Keepalive pings are off. Written for Debian's python3-websockets 10.4 (/usr/bin/python3).
"""

import argparse
import asyncio
import sys

import websockets
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)


async def echo(ws, path=None):  # websockets 10.x passes (ws, path); >= 13 passes (ws)
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connect", metavar="URL")
    parser.add_argument("--server-no-context-takeover", action="store_true")
    parser.add_argument("--client-no-context-takeover", action="store_true")
    parser.add_argument("--server-max-window-bits", type=int)
    parser.add_argument("--client-max-window-bits", type=int)
    parser.add_argument("--max-size", type=int, default=64 * 1024 * 1024)
    args = parser.parse_args()
    max_size = args.max_size or None

    if args.connect:
        client_bits = args.client_max_window_bits
        factory = ClientPerMessageDeflateFactory(
            server_no_context_takeover=args.server_no_context_takeover,
            client_no_context_takeover=args.client_no_context_takeover,
            server_max_window_bits=args.server_max_window_bits,
            client_max_window_bits=True if client_bits in (None, 0) else client_bits,
        )
        async with websockets.connect(
            args.connect,
            extensions=[factory],
            compression=None,
            max_size=max_size,
            ping_interval=None,
        ) as ws:
            print(f"PORT 0 {ws.extensions!r}", flush=True)
            await echo(ws)
        return

    factory = ServerPerMessageDeflateFactory(
        server_no_context_takeover=args.server_no_context_takeover,
        client_no_context_takeover=args.client_no_context_takeover,
        server_max_window_bits=args.server_max_window_bits,
        client_max_window_bits=args.client_max_window_bits,
    )
    async with websockets.serve(
        echo,
        "127.0.0.1",
        0,
        extensions=[factory],
        compression=None,
        max_size=max_size,
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
