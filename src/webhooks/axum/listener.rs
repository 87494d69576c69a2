//! A listener for a public webhook endpoint: at most so many connections at once, and a
//! connection that sends nothing for the read timeout is closed.
//!
//! `axum::serve` on a bare `TcpListener` has neither: hyper sets no header timeout without a
//! timer, so 300 clients that open a connection and send a byte every few seconds hold 300
//! tasks for as long as they like, and the next accept waits for nothing.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_io_timeout::TimeoutStream;

/// How many connections [`GuardedListener`] serves at once by default. Hero delivers one
/// event per request, from a handful of connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// How long a connection may send nothing before it is closed, by default: headers and body
/// of a few hundred bytes arrive in well under this.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A `TcpListener` for `axum::serve` that limits connections and closes idle or slow ones.
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
    /// [`DEFAULT_MAX_CONNECTIONS`] connections at once, each closed after
    /// [`DEFAULT_READ_TIMEOUT`] without a byte.
    pub fn new(listener: TcpListener) -> Self {
        GuardedListener { listener, permits: Arc::new(Semaphore::new(DEFAULT_MAX_CONNECTIONS)), read_timeout: DEFAULT_READ_TIMEOUT }
    }

    /// At most `connections` at once (at least one); the next is accepted when one closes.
    pub fn with_max_connections(mut self, connections: usize) -> Self {
        self.permits = Arc::new(Semaphore::new(connections.clamp(1, Semaphore::MAX_PERMITS)));
        self
    }

    /// A connection that sends nothing for `timeout` (at least 1 ms) is closed, idle keep-alive
    /// connections included.
    pub fn with_read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout.max(Duration::from_millis(1));
        self
    }
}

/// A connection accepted by [`GuardedListener`]: it holds its place until it closes.
#[derive(Debug)]
pub struct GuardedConnection {
    stream: Pin<Box<TimeoutStream<TcpStream>>>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl axum::serve::Listener for GuardedListener {
    type Io = GuardedConnection;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // The semaphore is never closed, so acquiring cannot fail (`None` would only mean it had
        // been).
        let permit = self.permits.clone().acquire_owned().await.ok();
        let (stream, addr) = axum::serve::Listener::accept(&mut self.listener).await;
        let mut stream = TimeoutStream::new(stream);
        stream.set_read_timeout(Some(self.read_timeout));
        (GuardedConnection { stream: Box::pin(stream), _permit: permit }, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

impl AsyncRead for GuardedConnection {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.stream.as_mut().poll_read(cx, buf)
    }
}

impl AsyncWrite for GuardedConnection {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.stream.as_mut().poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream.as_mut().poll_shutdown(cx)
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        self.stream.as_mut().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
