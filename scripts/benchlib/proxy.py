"""A TCP proxy that delays every chunk by a fixed time in each direction.

It stands in front of the test sshd to make round trips visible: each chunk read from
one side is written to the other side ``delay`` seconds after it was read, in the order
it was read. The two directions are independent, so a round trip costs two delays, and
chunks in flight are pipelined (a burst is not serialised into one delay per chunk).

The proxy runs an asyncio loop in a daemon thread of the calling process::

    proxy = DelayProxy(target_port=sshd.port, delay=0.025)
    proxy.start()       # proxy.port now accepts connections on every address
    ...
    proxy.stop()
"""

import asyncio
import contextlib
import socket
import threading

CHUNK = 65536


class DelayProxy:
    def __init__(self, target_port, delay, target_host="127.0.0.1", listen_host="0.0.0.0"):
        self.target_host = target_host
        self.target_port = target_port
        self.delay = delay
        self.listen_host = listen_host
        self.port = None
        self.connections = 0
        self.errors = []
        self._loop = None
        self._server = None
        self._thread = None
        self._tasks = set()
        self._ready = threading.Event()
        self._start_error = None

    # -- lifecycle -----------------------------------------------------------------

    def start(self, timeout=10):
        self._thread = threading.Thread(target=self._run, name="bench-delay-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the delay proxy did not start within {}s".format(timeout))
        if self._start_error is not None:
            raise RuntimeError("the delay proxy could not start: {}".format(self._start_error))
        return self

    def stop(self, timeout=10):
        loop = self._loop
        if loop is None or self._thread is None:
            return
        if loop.is_running():
            loop.call_soon_threadsafe(self._shutdown)
        self._thread.join(timeout)
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # -- the loop thread -------------------------------------------------------------

    def _run(self):
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._handle, self.listen_host, 0, backlog=1024)
            )
            self.port = self._server.sockets[0].getsockname()[1]
        except OSError as error:
            self._start_error = error
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _shutdown(self):
        self._server.close()
        for task in list(self._tasks):
            task.cancel()

        async def finish():
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()
            self._loop.stop()

        self._loop.create_task(finish())

    # -- one connection ----------------------------------------------------------------

    async def _handle(self, client_reader, client_writer):
        task = asyncio.current_task()
        self._tasks.add(task)
        self.connections += 1
        upstream_writer = None
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                self.target_host, self.target_port
            )
            for writer in (client_writer, upstream_writer):
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            writers = (client_writer, upstream_writer)
            await asyncio.gather(
                self._pipe(client_reader, upstream_writer, writers),
                self._pipe(upstream_reader, client_writer, writers),
            )
        except asyncio.CancelledError:
            pass
        except (OSError, EOFError) as error:
            if len(self.errors) < 20:
                self.errors.append(repr(error))
        finally:
            for writer in (client_writer, upstream_writer):
                if writer is not None:
                    writer.close()
            self._tasks.discard(task)

    async def _pipe(self, reader, writer, writers):
        """Copy reader to writer, each chunk leaving ``delay`` after it arrived.

        On an error either way both connections are closed, which ends the other
        direction too.
        """
        loop = asyncio.get_running_loop()
        queue = asyncio.Queue()

        async def send():
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()

        async def receive():
            while True:
                data = await reader.read(CHUNK)
                queue.put_nowait((loop.time() + self.delay, data))
                if not data:
                    return

        tasks = {asyncio.ensure_future(receive()), asyncio.ensure_future(send())}
        try:
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            failed = [task for task in done if task.exception() is not None]
            if failed:
                for each in writers:
                    each.close()
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
