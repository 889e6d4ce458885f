//! The load generator's side of its child servers (the kit's
//! [`ServerProcess`]): their resident memory and CPU time, from
//! `/proc/PID/`, how a run stops them, and the descriptor limit they and
//! the load generator share (children inherit it). It never starts a
//! server itself.

use std::time::Duration;

use anyhow::{Context, Result, bail};
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

/// Descriptors a process needs beyond its sockets to students: its
/// database, logs and pipes, and in the server a reconnect wave's
/// connections not signed in yet (it holds at most 1 024 handshakes and
/// 1 024 waiting to sign in, `max_unauthenticated`, and sheds the rest).
pub const NOFILE_HEADROOM: u64 = 2 * 1_024 + NOFILE_MARGIN;

/// What the load generator counts beyond its connections when it says
/// how many descriptors a run needs: its own files, pipes and runtime.
pub const NOFILE_MARGIN: u64 = 64;

/// Makes `RLIMIT_NOFILE` fit `needed` descriptors for `what` in this
/// process and in the children it starts (which inherit it), and returns
/// the soft limit: the soft limit rises to the hard one, and the hard one,
/// if too low, to `needed` and [`NOFILE_HEADROOM`] (at most the kernel's
/// `fs.nr_open`) when this process may (root, or `CAP_SYS_RESOURCE`).
/// Otherwise the error says what to set.
pub fn fit_nofile(needed: u64, what: &str) -> Result<u64> {
    use rlimit::Resource;
    let soft = rlimit::increase_nofile_limit(u64::MAX).context("raising RLIMIT_NOFILE")?;
    let (_, hard) = Resource::NOFILE.get().context("reading RLIMIT_NOFILE")?;
    let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|text| text.trim().parse().ok());
    let Some(target) = nofile_target(needed, hard, nr_open) else {
        return Ok(soft);
    };
    match Resource::NOFILE.set(target, target) {
        Ok(()) if target < needed => bail!(
            "{}",
            nofile_advice(target, needed, what, "the kernel's fs.nr_open")
        ),
        Ok(()) => {
            eprintln!("RLIMIT_NOFILE raised from {hard} to {target} for {what}");
            Ok(target)
        }
        Err(_) if soft >= needed => Ok(soft),
        Err(e) => bail!("{}", nofile_advice(soft, needed, what, &e.to_string())),
    }
}

/// The hard limit to ask for, or `None` if `hard` already leaves the
/// headroom (or the kernel allows no more anyway).
fn nofile_target(needed: u64, hard: u64, nr_open: Option<u64>) -> Option<u64> {
    let wanted = needed + NOFILE_HEADROOM;
    let target = nr_open.map_or(wanted, |max| wanted.min(max));
    (hard < target).then_some(target)
}

/// What to tell someone whose limit is too low and who may not raise it.
fn nofile_advice(limit: u64, needed: u64, what: &str, why: &str) -> String {
    let enough = needed + NOFILE_HEADROOM;
    let fewer = needed.saturating_sub(limit);
    format!(
        "RLIMIT_NOFILE is {limit}, {needed} needed for {what}, and it cannot be raised here \
         ({why}): run as root with CAP_SYS_RESOURCE (a container may drop it), or set \
         `ulimit -n {enough}` (its hard limit, e.g. in /etc/security/limits.conf) in the \
         shell that starts jqueue-load, or run {fewer} fewer; a jqueue-server for that many \
         students needs `LimitNOFILE={enough}` or more in its systemd unit (the package's \
         unit sets 65536) and `--max-connections` to match"
    )
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
    fn the_hard_limit_is_raised_only_when_short_and_never_past_nr_open() {
        let wanted = 20_000 + NOFILE_HEADROOM;
        assert_eq!(nofile_target(20_000, 20_000, None), Some(wanted));
        assert_eq!(nofile_target(20_000, 20_000, Some(1 << 20)), Some(wanted));
        assert_eq!(nofile_target(20_000, 20_000, Some(20_500)), Some(20_500));
        assert_eq!(nofile_target(20_000, wanted, Some(1 << 20)), None);
        assert_eq!(nofile_target(100, 4_096, None), None);
        // The kernel allows no more than the hard limit already is.
        assert_eq!(nofile_target(20_000, 20_000, Some(20_000)), None);
    }

    #[test]
    fn the_advice_names_the_shell_limit_and_the_units() {
        let advice = nofile_advice(20_000, 20_065, "20000 students", "EPERM");
        let enough = 20_065 + NOFILE_HEADROOM;
        assert!(advice.contains(&format!("ulimit -n {enough}")), "{advice}");
        assert!(advice.contains("run 65 fewer"), "{advice}");
        assert!(
            advice.contains(&format!("LimitNOFILE={enough}")),
            "{advice}"
        );
        assert!(advice.contains("--max-connections"), "{advice}");
    }

    #[test]
    fn reads_our_own_rss() {
        let rss = rss_bytes(std::process::id()).unwrap();
        assert!(rss > 0);
    }
}
