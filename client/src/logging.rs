//! Diagnostics go to `<data-dir>/logs/client.log`, never to the terminal the
//! TUI draws on. `JQUEUE_LOG` sets the filter (default `info`).

use std::path::Path;

use anyhow::Context as _;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Starts logging to the file. Keep the guard alive until exit: dropping it
/// flushes the log.
pub fn init(data_dir: &Path) -> anyhow::Result<WorkerGuard> {
    let dir = data_dir.join("logs");
    std::fs::create_dir_all(&dir).with_context(|| {
        format!(
            "cannot create {} (choose another with --data-dir DIR)",
            dir.display()
        )
    })?;
    let file = tracing_appender::rolling::never(&dir, "client.log");
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = EnvFilter::try_from_env("JQUEUE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| anyhow::anyhow!("could not start logging: {e}"))?;
    Ok(guard)
}
