"""The shell's stream reading (connectors/ssh/stream.py and its GreenPipe in
connectors/ssh/paramiko_internals.py): lines as paramiko's file
objects give them, and the gevent pipe a patched process feeds channels into."""

import gevent
import pytest
from paramiko.buffered_pipe import PipeTimeout

from pyinfra.api.connectors.ssh.paramiko_internals import GreenPipe
from pyinfra.api.connectors.ssh.stream import LineReader


def chunks_of(*chunks):
    """A recv function handing out `chunks`, then b"" (the end) for ever; it records
    the sizes asked for."""
    pending = list(chunks)
    asked = []

    def recv(size):
        asked.append(size)
        return pending.pop(0) if pending else b""

    recv.asked = asked
    return recv


def test_lines_keep_their_newline_across_chunks_and_the_end_may_lack_one():
    reader = LineReader(chunks_of(b"one\ntw", b"o\n", b"", b"three"))
    assert reader.readline(100) == b"one\n"
    assert reader.readline(100) == b"two\n"
    # An empty chunk is the end of the stream: nothing after it is read.
    assert reader.readline(100) == b""
    assert reader.readline(100) == b""


def test_a_line_longer_than_the_limit_comes_in_pieces():
    reader = LineReader(chunks_of(b"abcdefgh", b"ij\nk\n"))
    assert reader.readline(4) == b"abcd"
    assert reader.readline(4) == b"efgh"
    assert reader.readline(4) == b"ij\n"
    assert reader.readline(4) == b"k\n"
    assert reader.readline(4) == b""


def test_a_newline_beyond_the_limit_is_not_taken():
    reader = LineReader(chunks_of(b"abcdef\n"))
    assert reader.readline(3) == b"abc"
    assert reader.readline(3) == b"def"
    assert reader.readline(3) == b"\n"


def test_the_unterminated_rest_is_returned_at_the_end():
    reader = LineReader(chunks_of(b"x\nrest"))
    assert reader.readline(100) == b"x\n"
    assert reader.readline(100) == b"rest"
    assert reader.readline(100) == b""


def test_read_takes_up_to_size_and_stops_at_the_end():
    reader = LineReader(chunks_of(b"line\nmo", b"re"))
    assert reader.readline(100) == b"line\n"
    assert reader.read(3) == b"mor"
    assert reader.read(100) == b"e"
    assert reader.read(100) == b""


def test_one_recv_serves_many_lines():
    recv = chunks_of(b"".join(b"%d\n" % n for n in range(1000)))
    reader = LineReader(recv)
    assert [reader.readline(100) for _ in range(1000)] == [b"%d\n" % n for n in range(1000)]
    assert len(recv.asked) == 1


def test_green_pipe_hands_what_was_fed_to_a_waiting_reader():
    pipe = GreenPipe()
    reader = gevent.spawn(pipe.read, 100)
    gevent.sleep(0)
    assert not reader.ready()
    pipe.feed(b"abc")
    pipe.feed(b"def")
    assert reader.get(timeout=1) == b"abcdef"
    pipe.feed(b"0123456789")
    assert pipe.read(4) == b"0123"
    assert len(pipe) == 6 and pipe.read_ready()
    assert pipe.empty() == b"456789"
    assert not pipe.read_ready()


def test_green_pipe_ends_readers_when_closed_and_times_out():
    pipe = GreenPipe()
    with pytest.raises(PipeTimeout):
        pipe.read(10, timeout=0.05)
    reader = gevent.spawn(pipe.read, 10)
    gevent.sleep(0)
    pipe.feed(b"last")
    pipe.close()
    assert reader.get(timeout=1) == b"last"
    # Closed and drained: the end of the stream, at once.
    assert pipe.read(10, timeout=5) == b""


def test_green_pipe_sets_and_clears_an_event_as_paramiko_s_does():
    pipe = GreenPipe()
    event = gevent.event.Event()
    event.set()
    pipe.set_event(event)
    assert not event.is_set()
    pipe.feed(b"x")
    assert event.is_set()
    assert pipe.read(10) == b"x"
    assert not event.is_set()
    pipe.close()
    assert event.is_set()
