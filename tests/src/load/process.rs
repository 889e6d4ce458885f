//! The load generator's side of its child servers (the kit's
//! [`ServerProcess`]): their resident memory and CPU time, from
//! `/proc/PID/`, and how a run stops them.

use std::time::Duration;

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

/// CPU time process `pid` has used so far, user and system, from
/// `/proc/PID/stat` (in the kernel's clock ticks, 100 a second on Linux).
pub fn cpu_time(pid: u32) -> Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    parse_cpu_ticks(&stat)
        .map(|ticks| Duration::from_millis(ticks * 10))
        .context("no utime and stime in /proc/PID/stat")
}

/// utime + stime, the 14th and 15th fields of `/proc/PID/stat`, counted
/// after the command's name (in parentheses, and it may hold spaces).
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
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
    fn cpu_time_is_utime_and_stime_whatever_the_name() {
        let stat = "4242 (jqueue server) S 1 4242 4242 0 -1 4194560 900 0 0 0 \
                    250 40 0 0 20 0 5 0 123 456 789";
        assert_eq!(parse_cpu_ticks(stat), Some(290));
        assert_eq!(parse_cpu_ticks("4242 (x) S 1"), None);
        assert!(cpu_time(std::process::id()).is_ok());
    }

    #[test]
    fn reads_our_own_rss() {
        let rss = rss_bytes(std::process::id()).unwrap();
        assert!(rss > 0);
    }
}
