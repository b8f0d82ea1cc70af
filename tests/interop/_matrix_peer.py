"""The Python side of the interop matrix (tests/interop/_matrix.ts), on python-websockets.

server mode: `_matrix_peer.py server` prints `PORT <port> websockets <version>` and serves the
    matrix peer contract: echo every message; select subprotocol chat.v2 when offered;
    `cmd:tag:NAME` names the connection; `cmd:close` closes with 4001 "server bye ✓";
    `cmd:close-of:NAME` answers {"code":N,"reason":"..."} once connection NAME has closed.
    permessage-deflate is on (websockets' default).

client mode: `_matrix_peer.py client ws://127.0.0.1:PORT TAG` runs the matrix checks against the
    library's matrix server and prints one JSON line: {check: true | "what went wrong"}.

Written for Debian's python3-websockets 10.4 (/usr/bin/python3); works with newer releases.
"""

import asyncio
import json
import sys

import websockets

SERVER_CLOSE = (4001, "server bye ✓")
CLIENT_CLOSE = (4002, "client bye ✓")
HELLO = "héllo wörld ✓ 𝄞"
LARGE = 1024 * 1024


async def serve():
    closes = {}

    def slot(name):
        if name not in closes:
            closes[name] = asyncio.get_running_loop().create_future()
        return closes[name]

    async def handler(ws, path=None):  # websockets 10.x passes (ws, path); >= 13 passes (ws)
        tag = None
        try:
            async for message in ws:
                if isinstance(message, str) and message.startswith("cmd:tag:"):
                    tag = message[len("cmd:tag:"):]
                elif message == "cmd:close":
                    await ws.close(*SERVER_CLOSE)
                elif isinstance(message, str) and message.startswith("cmd:close-of:"):
                    seen = await asyncio.wait_for(slot(message[len("cmd:close-of:"):]), 10)
                    await ws.send(json.dumps(seen, ensure_ascii=False))
                else:
                    await ws.send(message)
        except websockets.ConnectionClosed:
            pass
        finally:
            await ws.wait_closed()
            if tag is not None and not slot(tag).done():
                slot(tag).set_result({"code": ws.close_code, "reason": ws.close_reason})

    async with websockets.serve(
        handler,
        "127.0.0.1",
        0,
        subprotocols=["chat.v2"],
        max_size=None,
        ping_interval=None,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"PORT {port} websockets {websockets.__version__}", flush=True)
        await asyncio.Future()


async def client(base, tag):
    results = {}

    async def check(name, fn):
        try:
            results[name] = await asyncio.wait_for(fn(), 20)
        except Exception as e:  # noqa: BLE001 - every failure is a result
            results[name] = f"{type(e).__name__}: {e}"

    def connect(path="/echo", **kw):
        return websockets.connect(base + path, max_size=None, ping_interval=None, **kw)

    async def text():
        async with connect() as ws:
            await ws.send(HELLO)
            got = await ws.recv()
            return got == HELLO or f"got {got!r:.40}"

    async def binary():
        data = bytes(range(256))
        async with connect() as ws:
            await ws.send(data)
            got = await ws.recv()
            return got == data or "binary echo differs"

    async def large():
        data = bytes((i * 7) & 0xFF for i in range(LARGE))
        text = "0123456789abcdef" * (LARGE // 16)
        async with connect() as ws:
            await ws.send(data)
            got = await ws.recv()
            await ws.send(text)
            got_text = await ws.recv()
            if got != data:
                return "1 MiB binary differs"
            return got_text == text or "1 MiB text differs"

    async def fragmented():
        async with connect() as ws:
            # An iterable is sent as one message in several frames.
            await ws.send(["frag-a ", "frag-b ", "frag-c"])
            mine = await ws.recv()
            await ws.send("cmd:fragments")
            theirs = await ws.recv()
            if mine != "frag-a frag-b frag-c":
                return f"own fragments echoed as {mine!r}"
            return theirs == "frag-1 frag-2 frag-3" or f"server fragments read as {theirs!r}"

    async def ping_pong():
        async with connect() as ws:
            waiter = await ws.ping(b"python-ping")
            await asyncio.wait_for(waiter, 5)
            await ws.send("cmd:ping")
            got = await ws.recv()
            return got == "pong:ok" or f"got {got!r}"

    async def close_code():
        ws = await connect()
        await ws.send(f"cmd:tag:{tag}-close")
        await ws.close(*CLIENT_CLOSE)
        ws = await connect()
        await ws.send("cmd:close")
        try:
            await ws.recv()
        except websockets.ConnectionClosed:
            pass
        await ws.wait_closed()
        if (ws.close_code, ws.close_reason) != SERVER_CLOSE:
            return f"server close seen as {ws.close_code} {ws.close_reason!r}"
        return True

    async def subprotocol():
        async with connect("/chat", subprotocols=["chat.v1", "chat.v2"]) as ws:
            await ws.send(HELLO)
            got = await ws.recv()
            if got != HELLO:
                return "no echo on /chat"
            return ws.subprotocol == "chat.v2" or f"subprotocol {ws.subprotocol!r}"

    async def compression():
        async with connect(compression="deflate") as ws:
            text = "compress me, compress me, compress me. " * 2000
            await ws.send(text)
            got = await ws.recv()
            agreed = ws.response_headers.get("Sec-WebSocket-Extensions", "")
            if got != text:
                return "echo differs"
            return "permessage-deflate" in agreed or f"extensions {agreed!r}"

    await check("text", text)
    await check("binary", binary)
    await check("1 MiB", large)
    await check("fragmented", fragmented)
    await check("ping/pong", ping_pong)
    await check("close code and reason", close_code)
    await check("subprotocol", subprotocol)
    await check("compression", compression)
    print(json.dumps(results, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    try:
        if sys.argv[1] == "server":
            asyncio.run(serve())
        else:
            asyncio.run(client(sys.argv[2], sys.argv[3]))
    except KeyboardInterrupt:
        sys.exit(0)
