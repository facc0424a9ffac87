//! Serving with graceful shutdown: `main` passes SIGTERM/SIGINT, tests a oneshot.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

/// Serves until `shutdown` completes, then lets in-flight requests finish. The peer address is
/// kept for the network profile.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
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
