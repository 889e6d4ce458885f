//! CPU-heavy work that must give way to queue updates: password hashing.
//!
//! A login at the default 600 000 PBKDF2 rounds is tens of milliseconds of
//! pure CPU, and a lab opening brings hundreds of them at once. Each one runs
//! on a thread of its own at a lower scheduling priority (on Linux, nice + 10
//! relative to the server), so the kernel runs the owners and the fan-out of
//! queue updates first whenever they are runnable, and hashing gets every cycle
//! they leave. That lets a storm use every core without starving the queue,
//! where capping the number of hashing threads would slow the storm down and
//! still share a core with the fan-out.
//!
//! The caller blocks until the work is done, so call [`run`] from
//! `spawn_blocking`, as any blocking call (which also tells tokio that work
//! is in flight: its paused test clock does not jump ahead while a password
//! is hashed). The priority is set on a fresh thread, never on one of
//! tokio's: a blocking-pool thread can later become an async worker, which
//! must not inherit it. A thread costs tens of microseconds; a hash costs a
//! thousand times that.

use std::sync::{Mutex, PoisonError};
use std::thread;

/// How much less CPU priority background work gets than the server's own
/// threads (a nice increment; Linux only).
pub const NICE_INCREMENT: i32 = 10;

/// Runs `work` on a new lower-priority thread and returns its result. If no
/// thread can be made (a process limit), runs it on the calling thread.
///
/// # Panics
/// Re-raises a panic from `work` on the calling thread.
pub fn run<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    // Kept outside the thread's closure, so `work` is still here to run if
    // the thread cannot be made.
    let slot = Mutex::new(Some(work));
    let take = || {
        slot.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .expect("the work is taken once")
    };
    thread::scope(|scope| {
        let spawned = thread::Builder::new()
            .name("jqueue-hash".into())
            .spawn_scoped(scope, || {
                lower_this_threads_priority();
                take()()
            });
        match spawned {
            Ok(thread) => thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(e) => {
                tracing::warn!("no background thread ({e}): hashing at normal priority");
                take()()
            }
        }
    })
}

/// Lowers the calling thread's priority by [`NICE_INCREMENT`], up to the
/// lowest there is. Best effort: hashing at normal priority is still correct.
#[cfg(target_os = "linux")]
fn lower_this_threads_priority() {
    use rustix::process::{getpriority_process, setpriority_process};
    // On Linux the nice value belongs to the thread (`PRIO_PROCESS` with a
    // thread id), so only this thread is affected.
    let me = Some(rustix::thread::gettid());
    if let Ok(nice) = getpriority_process(me) {
        let _ = setpriority_process(me, (nice + NICE_INCREMENT).min(19));
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority() {
    // Elsewhere the nice value is per process; lowering it would slow the
    // whole server. Hashing stays at normal priority.
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_what_the_work_returns() {
        let name = run(|| thread::current().name().map(str::to_owned));
        assert_eq!(name.as_deref(), Some("jqueue-hash"));
        let borrowed = [1, 2, 3];
        assert_eq!(run(|| borrowed.iter().sum::<i32>()), 6);
    }

    #[test]
    #[should_panic(expected = "bad hash")]
    fn a_panic_reaches_the_caller() {
        run(|| panic!("bad hash"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn only_the_background_thread_runs_at_lower_priority() {
        use rustix::process::getpriority_process;
        let mine = || getpriority_process(Some(rustix::thread::gettid())).unwrap();
        let before = mine();
        let theirs = run(mine);
        assert_eq!(theirs, (before + NICE_INCREMENT).min(19));
        assert_eq!(mine(), before, "the caller's priority is untouched");
    }
}
