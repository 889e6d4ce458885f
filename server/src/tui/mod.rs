//! The professor's full-screen TUI (placeholder until the screen lands: it
//! refuses to start, so nobody mistakes it for the real thing).

use std::net::SocketAddr;

use crate::ServerHandle;

pub async fn run(_handle: ServerHandle, _addr: SocketAddr) -> anyhow::Result<()> {
    anyhow::bail!("the professor's screen is not built yet; run with --headless")
}
