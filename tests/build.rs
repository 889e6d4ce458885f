//! The one switch for the tests that need the system: `JQUEUE_SYSTEM_TESTS=1`
//! turns on the `jqueue_system_tests` cfg. Without it, those tests are marked
//! ignored with the reason (`cfg_attr(not(jqueue_system_tests), ignore = …)`),
//! so libtest names each one as not run instead of failing or passing unrun.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(jqueue_system_tests)");
    println!("cargo::rerun-if-env-changed=JQUEUE_SYSTEM_TESTS");
    // Any value but 1 (unset, empty, 0) leaves them off: one spelling, one meaning.
    if std::env::var_os("JQUEUE_SYSTEM_TESTS").is_some_and(|v| v == "1") {
        println!("cargo::rustc-cfg=jqueue_system_tests");
    }
}
