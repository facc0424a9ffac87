//! Serving with graceful shutdown: `main` passes SIGTERM/SIGINT, tests a oneshot.
//!
//! Every connection is watched (`Guarded`): a client that sends nothing, trickles its request
//! head or sits idle between requests is cut off, and the number of open connections stays
//! below the process's descriptor limit, so that a flood of silent sockets cannot hold them for
//! long. (A request whose head is in is the request timeout's business, its body included.) hyper's own header timeout needs a timer axum does not give it,
//! and counts a keep-alive connection's idle time against the same limit as a slow head; here
//! the two are apart, so a load balancer's idle connections live longer than a trickled head.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use axum::Router;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

use crate::config::HttpConfig;

/// The limits every connection is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From a connection's first byte, or from its opening, to the end of a request's head.
    pub header_timeout: Duration,
    /// Between the end of a response and the next request's first byte.
    pub idle_timeout: Duration,
    /// Open connections at most; past it new ones wait in the listen backlog.
    pub max_connections: usize,
}

/// Descriptors kept back from connections for the database, files and logs.
const RESERVED_DESCRIPTORS: usize = 128;

impl ConnectionLimits {
    /// The configured limits, with the connection limit lowered below the process's descriptor
    /// limit if that is lower.
    pub fn of(http: &HttpConfig) -> Self {
        let below_descriptors = descriptor_limit().map_or(usize::MAX, |n| n.saturating_sub(RESERVED_DESCRIPTORS));
        Self {
            header_timeout: Duration::from_millis(http.header_timeout_ms),
            idle_timeout: Duration::from_millis(http.idle_timeout_ms),
            max_connections: http.max_connections.min(below_descriptors).max(1),
        }
    }
}

/// The soft limit on open files, from `/proc/self/limits` (Linux, where the services run).
fn descriptor_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Serves until `shutdown` completes, then lets in-flight requests finish. The peer address is
/// kept for the network profile.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let guarded = Guarded::new(listener, limits);
    axum::serve(guarded, app.into_make_service_with_connect_info::<Peer>()).with_graceful_shutdown(shutdown).await
}

/// The address a connection came from (`ConnectInfo<Peer>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, Guarded>> for Peer {
    fn connect_info(stream: IncomingStream<'_, Guarded>) -> Self {
        Self(*stream.remote_addr())
    }
}

/// A listener that holds each connection to [`ConnectionLimits`].
pub struct Guarded {
    listener: TcpListener,
    limits: ConnectionLimits,
    permits: Arc<Semaphore>,
    /// Whether the limit was reached and not yet left, so that it is logged once each time.
    at_limit: AtomicBool,
}

impl Guarded {
    fn new(listener: TcpListener, limits: ConnectionLimits) -> Self {
        let permits = Arc::new(Semaphore::new(limits.max_connections));
        Self { listener, limits, permits, at_limit: AtomicBool::new(false) }
    }

    async fn permit(&self) -> OwnedSemaphorePermit {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            if self.at_limit.swap(false, Ordering::Relaxed) {
                tracing::info!("connections below the limit again; accepting");
            }
            return permit;
        }
        if !self.at_limit.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                limit = self.limits.max_connections,
                "connection limit reached: new connections wait until open ones close"
            );
        }
        match self.permits.clone().acquire_owned().await {
            Ok(permit) => permit,
            // The semaphore is never closed.
            Err(_) => std::future::pending().await,
        }
    }
}

impl axum::serve::Listener for Guarded {
    type Io = Watched;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let permit = self.permit().await;
        loop {
            match self.listener.accept().await {
                Ok((stream, addr)) => return (Watched::new(stream, self.limits, permit), addr),
                // Out of descriptors or a connection reset before it was taken: pause, go on.
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

/// Where a connection is in its request/response cycle, as seen from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request's first byte (a new connection, or one kept alive after a response).
    Waiting,
    /// Reading a request's head; `matched` bytes of its closing CRLF CRLF seen so far.
    Head { matched: u8 },
    /// The head is in: the body and the handler are the request timeout's business.
    Request,
}

/// A connection's stream, cut off (reads fail with `TimedOut`) when a request's head takes
/// longer than the header timeout or an idle connection waits longer than the idle timeout.
pub struct Watched {
    stream: TcpStream,
    limits: ConnectionLimits,
    phase: Phase,
    deadline: Pin<Box<Sleep>>,
    /// Held while the connection is open.
    _permit: OwnedSemaphorePermit,
}

impl Watched {
    fn new(stream: TcpStream, limits: ConnectionLimits, permit: OwnedSemaphorePermit) -> Self {
        // A new connection has no more time for its first byte than for its whole head.
        let deadline = Box::pin(tokio::time::sleep(limits.header_timeout));
        Self { stream, limits, phase: Phase::Waiting, deadline, _permit: permit }
    }

    fn expire_in(&mut self, after: Duration) {
        self.deadline.as_mut().reset(Instant::now() + after);
    }

    /// Follows the bytes a read brought in.
    fn saw(&mut self, bytes: &[u8]) {
        let (matched, bytes) = match self.phase {
            Phase::Request => return,
            Phase::Waiting => {
                // hyper skips blank lines before a request line: they start no head, or a client
                // could send CRLF CRLF and hold the connection for ever.
                let Some(start) = bytes.iter().position(|b| !matches!(b, b'\r' | b'\n')) else { return };
                self.expire_in(self.limits.header_timeout);
                (0, &bytes[start..])
            }
            Phase::Head { matched } => (matched, bytes),
        };
        self.phase = match scan_head(matched, bytes) {
            HEAD_END => Phase::Request,
            matched => Phase::Head { matched },
        };
    }
}

/// `scan_head`'s answer when a head's closing blank line is complete.
const HEAD_END: u8 = 4;

/// Where a request head stands after `bytes`, given where it stood before them: 0 inside a line,
/// 1 after a CR, 2 at the start of a line, 3 after a CR there, [`HEAD_END`] after the blank
/// line that ends it (CRLF CRLF, or bare LFs, which hyper accepts too). What follows is the
/// body, or the next request.
fn scan_head(mut state: u8, bytes: &[u8]) -> u8 {
    for &b in bytes {
        state = match (state, b) {
            (2 | 3, b'\n') => HEAD_END,
            (_, b'\n') => 2,
            (2, b'\r') => 3,
            (_, b'\r') => 1,
            _ => 0,
        };
        if state == HEAD_END {
            break;
        }
    }
    state
}

impl Watched {
    /// Follows a write: once a response goes out, what is read next belongs to the next request.
    /// An interim `100 Continue` is not that response: the body it asked for is still to come.
    /// The idle time counts from the last byte of the response written, so a long download is
    /// not cut off and a long response leaves the whole idle time after it.
    fn wrote(&mut self, cx: &mut Context<'_>, written: &Poll<io::Result<usize>>, start: &[u8]) {
        let Poll::Ready(Ok(n)) = *written else { return };
        match self.phase {
            Phase::Request if n > 0 && !is_interim(start, n) => self.phase = Phase::Waiting,
            Phase::Waiting if n > 0 => {}
            _ => return,
        }
        self.expire_in(self.limits.idle_timeout);
        // hyper waits for the next request on the read it left pending during this one, and
        // reads again only when woken: the deadline must be able to wake it.
        let _ = self.deadline.as_mut().poll(cx);
    }
}

/// `HTTP/1.1 100 Continue` and its blank line: hyper's only interim response.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Whether a write of `n` bytes starting with `start` is an interim `100 Continue` alone (hyper
/// may send it together with the final response, which then ends the request).
fn is_interim(start: &[u8], n: usize) -> bool {
    start.starts_with(CONTINUE) && n <= CONTINUE.len()
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                this.saw(&buf.filled()[before..]);
                Poll::Ready(Ok(()))
            }
            Poll::Pending if this.phase != Phase::Request && this.deadline.as_mut().poll(cx).is_ready() => {
                let what = if this.phase == Phase::Waiting { "idle" } else { "request head not finished" };
                tracing::debug!(reason = what, "closing a connection that timed out");
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, what)))
            }
            other => other,
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.wrote(cx, &written, buf);
        written
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.wrote(cx, &written, bufs.first().map_or(&[], |b| &**b));
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Starts listening for SIGTERM (ECS stopping a task) and SIGINT (Ctrl-C) now, and returns a
/// future that completes on either. The handlers are installed before the binary says it is
/// listening: a SIGTERM sent the moment it is up (a test, an orchestrator) must stop it
/// gracefully, not kill it with the default action.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    if let Err(e) = term.as_ref().and(int.as_ref()) {
        tracing::warn!(error = %e, "cannot listen for SIGTERM or SIGINT; the server stops only when killed");
    }
    async move {
        let wait = |s: std::io::Result<tokio::signal::unix::Signal>| async move {
            match s {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = wait(term) => {},
            () = wait(int) => {},
        }
        tracing::info!("shutting down: finishing in-flight requests");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_ends_at_its_first_blank_line_however_it_is_split() {
        let head = b"POST /imports HTTP/1.1\r\nHost: x\r\n\r\nID,EMAIL";
        let end = head.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4).unwrap_or_default();
        for split in 0..head.len() {
            let first = scan_head(0, &head[..split]);
            let done = first == HEAD_END || scan_head(first, &head[split..]) == HEAD_END;
            assert!(done, "split at {split}");
            assert_eq!(first == HEAD_END, split >= end, "split at {split}");
        }
        assert_eq!(scan_head(0, b"GET / HTTP/1.1\r\nHost: x\r\n\r"), 3);
        assert_eq!(scan_head(0, b"GET / HTTP/1.1\r\nHost: x\r\n"), 2);
        assert_eq!(scan_head(0, b"a\r\r\n\r\n"), HEAD_END, "a lone CR is no line end");
        assert_eq!(scan_head(0, b"GET / HTTP/1.1\nHost: x\n\n"), HEAD_END, "bare LFs end a head too");
    }

    #[test]
    fn only_a_lone_100_continue_is_interim() {
        assert!(is_interim(CONTINUE, CONTINUE.len()));
        let both = [CONTINUE, b"HTTP/1.1 400 Bad Request\r\n\r\n"].concat();
        assert!(!is_interim(&both, both.len()), "sent together with the final answer, it ends the request");
        assert!(!is_interim(b"HTTP/1.1 200 OK\r\n\r\n", 19));
    }

    #[test]
    fn the_open_files_limit_is_read() {
        assert!(descriptor_limit().is_some_and(|n| n > 0));
    }
}
