//! A listener for a public webhook endpoint: at most so many connections at once, and a
//! connection that does not send a request's head in time is closed.
//!
//! `axum::serve` on a bare `TcpListener` has neither: hyper sets no header timeout without a
//! timer, so 300 clients that open a connection and send a byte every few seconds hold 300
//! tasks for as long as they like, and the next accept waits for nothing. A timeout per read
//! would not do either (a client dripping a byte just under it never ends), so the deadline is
//! absolute: from the connection's start, or from the last answer written, until the end of the
//! next request's head (`\r\n\r\n`). The body is the receiver's to bound
//! ([`super::WebhookReceiver::with_read_deadline`]); while the handler works, nothing is timed.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// How many connections [`GuardedListener`] serves at once by default. Hero delivers one
/// event per request, from a handful of connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// How long a connection may take to send a request's head, by default, counted from its start
/// or from the last answer (an idle keep-alive connection is closed after it too). A head of a
/// few hundred bytes arrives in well under this.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A `TcpListener` for `axum::serve` that limits connections and closes slow or idle ones.
///
/// ```no_run
/// # async fn demo(router: axum::Router) -> std::io::Result<()> {
/// use hero_health::webhooks::axum::GuardedListener;
///
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
/// axum::serve(GuardedListener::new(listener), router).await
/// # }
/// ```
#[derive(Debug)]
pub struct GuardedListener {
    listener: TcpListener,
    permits: Arc<Semaphore>,
    read_timeout: Duration,
}

impl GuardedListener {
    /// [`DEFAULT_MAX_CONNECTIONS`] connections at once, each given [`DEFAULT_READ_TIMEOUT`]
    /// to send each request's head.
    pub fn new(listener: TcpListener) -> Self {
        GuardedListener { listener, permits: Arc::new(Semaphore::new(DEFAULT_MAX_CONNECTIONS)), read_timeout: DEFAULT_READ_TIMEOUT }
    }

    /// At most `connections` at once (at least one); the next is accepted when one closes.
    pub fn with_max_connections(mut self, connections: usize) -> Self {
        self.permits = Arc::new(Semaphore::new(connections.clamp(1, Semaphore::MAX_PERMITS)));
        self
    }

    /// A connection that has not sent a whole request head `timeout` (at least 1 ms) after it
    /// opened or after the last answer is closed, however it drips; so is one whose answer
    /// cannot be written for that long (a client that does not read).
    pub fn with_read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout.max(Duration::from_millis(1));
        self
    }
}

/// A connection accepted by [`GuardedListener`]: it holds its place until it closes.
#[derive(Debug)]
pub struct GuardedConnection {
    stream: TcpStream,
    _permit: Option<OwnedSemaphorePermit>,
    timeout: Duration,
    /// Armed while a request head is awaited, and while a write cannot proceed.
    deadline: Pin<Box<Sleep>>,
    /// Waiting for the end of a request head (`\r\n\r\n`).
    in_head: bool,
    /// The last bytes read, to find a head's end split across reads.
    tail: [u8; 3],
    /// A write is stalled (the deadline is armed for it).
    write_stalled: bool,
}

impl axum::serve::Listener for GuardedListener {
    type Io = GuardedConnection;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // The semaphore is never closed, so acquiring cannot fail (`None` would only mean it had
        // been).
        let permit = self.permits.clone().acquire_owned().await.ok();
        let (stream, addr) = axum::serve::Listener::accept(&mut self.listener).await;
        let connection = GuardedConnection {
            stream,
            _permit: permit,
            timeout: self.read_timeout,
            deadline: Box::pin(tokio::time::sleep(self.read_timeout)),
            in_head: true,
            tail: [0; 3],
            write_stalled: false,
        };
        (connection, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

impl GuardedConnection {
    fn timed_out() -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, "the client was too slow: connection closed")
    }

    /// Whether the end of a head is in `bytes` (read after the last ones).
    fn head_ends_in(&mut self, bytes: &[u8]) -> bool {
        head_ends(&mut self.tail, bytes)
    }
}

/// Whether `\r\n\r\n` ends in `bytes`, read after `tail` (the previous read's last three
/// bytes, updated here): a head's end split across reads is found too.
fn head_ends(tail: &mut [u8; 3], bytes: &[u8]) -> bool {
    let mut window = tail.to_vec();
    window.extend_from_slice(bytes);
    let found = window.windows(4).any(|w| w == b"\r\n\r\n");
    let keep = window.len().min(3);
    *tail = [0; 3];
    tail[3 - keep..].copy_from_slice(&window[window.len() - keep..]);
    found
}

impl AsyncRead for GuardedConnection {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let read = buf.filled()[before..].to_vec();
                if self.in_head && self.head_ends_in(&read) {
                    // The head is in: the body and the handler are timed elsewhere.
                    self.in_head = false;
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending if self.in_head && self.deadline.as_mut().poll(cx).is_ready() => Poll::Ready(Err(Self::timed_out())),
            other => other,
        }
    }
}

impl GuardedConnection {
    /// After a write made progress: an answer went out, so the next request's head is awaited
    /// from now.
    fn wrote(&mut self) {
        self.write_stalled = false;
        self.in_head = true;
        self.tail = [0; 3];
        let at = Instant::now() + self.timeout;
        self.deadline.as_mut().reset(at);
    }

    fn stalled(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        if !self.write_stalled {
            self.write_stalled = true;
            let at = Instant::now() + self.timeout;
            self.deadline.as_mut().reset(at);
        }
        self.deadline.as_mut().poll(cx).map(|()| Self::timed_out())
    }
}

impl AsyncWrite for GuardedConnection {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.stream).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                self.wrote();
                Poll::Ready(Ok(n))
            }
            Poll::Pending => self.stalled(cx).map(Err),
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.stream).poll_flush(cx) {
            Poll::Pending => self.stalled(cx).map(Err),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.stream).poll_write_vectored(cx, bufs) {
            Poll::Ready(Ok(n)) => {
                self.wrote();
                Poll::Ready(Ok(n))
            }
            Poll::Pending => self.stalled(cx).map(Err),
            other => other,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_end_of_a_head_is_found_across_reads() {
        let ends = |parts: &[&[u8]]| {
            let mut tail = [0u8; 3];
            parts.iter().any(|part| super::head_ends(&mut tail, part))
        };
        assert!(ends(&[b"POST / HTTP/1.1\r\nhost: x\r\n\r\n"]));
        assert!(ends(&[b"POST / HTTP/1.1\r\nhost: x\r", b"\n", b"\r", b"\n{"]));
        assert!(!ends(&[b"POST / HTTP/1.1\r\nx-a: ", b"a", b"a", b"\r\n"]));
    }
}
