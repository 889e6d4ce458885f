//! The load generator's side of its child servers (the kit's
//! [`ServerProcess`]): their resident memory, from `/proc/PID/status`, and
//! how a run stops them.

use anyhow::{Context, Result};
use jqueue_tests::ServerProcess;

/// Asks `server` to quit; one that has not gone in time is killed (as it is
/// dropped), which does not fail the run.
pub fn stop(server: ServerProcess) {
    let pid = server.pid();
    if let Err(e) = server.quit() {
        eprintln!("server {pid} did not quit ({e:#}); killing it");
    }
}

/// Resident set size of process `pid`, from the `VmRSS` line of its
/// `/proc/PID/status`.
pub fn rss_bytes(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    parse_vm_rss(&status).context("no VmRSS line in /proc/PID/status")
}

/// Parses `VmRSS:   1234 kB` into bytes.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut fields = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = fields.next()?.parse().ok()?;
    match fields.next()? {
        "kB" => Some(value * 1024),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vm_rss() {
        let status =
            "Name:\tjqueue-server\nVmPeak:\t  99999 kB\nVmRSS:\t    1536 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(1536 * 1024));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
        assert_eq!(parse_vm_rss("VmRSS:\tlots kB\n"), None);
    }

    #[test]
    fn reads_our_own_rss() {
        let rss = rss_bytes(std::process::id()).unwrap();
        assert!(rss > 0);
    }
}
