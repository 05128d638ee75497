//! Standard input and output as non-blocking pipes on the runtime's own
//! event loop.
//!
//! *Why not `tokio::io::stdin()`.* Tokio reads standard input on its
//! blocking thread pool: every read is a hand-off to another thread and
//! back, some tens of microseconds, paid by every request the BEAM waits
//! on. When the BEAM runs the program as a port, standard input and output
//! are pipes that belong to it alone; they are put in non-blocking mode
//! and polled by the current-thread runtime's epoll like sockets, so a
//! frame is read and answered on one thread without a hand-off.
//!
//! Anything else (a terminal, a file) keeps tokio's own `stdin()` and
//! `stdout()`: its mode is not ours to change.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use rustix::fs::{fcntl_getfl, fcntl_setfl, fstat, FileType, OFlags};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A pipe (or socket) of the process, non-blocking and polled.
pub struct Pipe {
    fd: AsyncFd<RawFd>,
}

impl Pipe {
    /// Standard input as a polled pipe (see [`Pipe::new`]).
    pub fn stdin() -> Option<Pipe> {
        Pipe::new(io::stdin().as_fd())
    }

    /// Standard output as a polled pipe (see [`Pipe::new`]).
    pub fn stdout() -> Option<Pipe> {
        Pipe::new(io::stdout().as_fd())
    }

    /// `fd` (standard input or output) as a polled pipe, if it is a pipe
    /// or a socket that can be put in non-blocking mode; `None` for
    /// anything else. Needs a runtime with I/O enabled.
    fn new(fd: BorrowedFd<'_>) -> Option<Pipe> {
        let kind = FileType::from_raw_mode(fstat(fd).ok()?.st_mode);
        if !matches!(kind, FileType::Fifo | FileType::Socket) {
            return None;
        }
        let flags = fcntl_getfl(fd).ok()?;
        fcntl_setfl(fd, flags | OFlags::NONBLOCK).ok()?;
        Some(Pipe { fd: register(fd.as_raw_fd()).ok()? })
    }
}

/// Registers standard input or output with the runtime's reactor.
#[allow(unsafe_code)]
fn register(fd: RawFd) -> io::Result<AsyncFd<RawFd>> {
    // SAFETY: `AsyncFd::register` needs the fd to stay open and unchanged
    // while registered. `fd` is 0 or 1, which the process never closes
    // (std's handles do not close them either), and the `AsyncFd` is
    // dropped before the process exits.
    unsafe { AsyncFd::register(fd).map_err(|e| e.into_parts().1) }
}

impl AsyncRead for Pipe {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            let asked = unfilled.len();
            match rustix::io::read(self.fd.as_fd(), &mut *unfilled) {
                Ok(n) => {
                    // A read that did not fill the buffer emptied the pipe:
                    // the next read waits for the reactor's next event
                    // instead of finding out with a read that fails
                    // (`EAGAIN`), as tokio's own streams do. An event that
                    // arrived meanwhile is kept (`clear_ready` clears only
                    // the readiness this guard saw).
                    if n > 0 && n < asked {
                        guard.clear_ready();
                    }
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(rustix::io::Errno::AGAIN) => guard.clear_ready(),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Poll::Ready(Err(e.into())),
            }
        }
    }
}

impl AsyncWrite for Pipe {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match rustix::io::write(self.fd.as_fd(), data) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(rustix::io::Errno::AGAIN) => guard.clear_ready(),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Poll::Ready(Err(e.into())),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
