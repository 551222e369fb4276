#!/usr/bin/env python3
"""Opens N HTTP/1.1 keep-alive connections to HOST:PORT, sends one request on each
(`GET PATH`), reads its answer, then keeps every connection open and idle.

Usage: idle_conns.py HOST PORT N PATH HOLD_SECONDS
Prints `open N` (how many connections completed their request and are idle) on stdout
once all are up, then holds them for HOLD_SECONDS (or until stdin closes) and exits.
The caller raises `ulimit -n` beforehand.
"""
import asyncio
import sys


async def one(host, port, path, sem, held):
    async with sem:
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            held.append(writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass


async def main():
    host, port, n, path, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
    sem = asyncio.Semaphore(256)
    held = []
    await asyncio.gather(*(one(host, port, path, sem, held) for _ in range(n)))
    print(f"open {len(held)}", flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    try:
        await asyncio.wait_for(stdin_closed, timeout=hold)
    except asyncio.TimeoutError:
        pass
    for w in held:
        w.close()


if __name__ == "__main__":
    asyncio.run(main())
