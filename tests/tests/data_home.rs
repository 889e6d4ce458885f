//! The server's default data directory is its own
//! (`~/.local/share/jqueue-server`), not the client's: the real binary, with
//! no `--data-dir`, moves a database left in the old default on its first
//! run and leaves the client's files where they are. (Each case of the move
//! itself is tested in `server/src/store/data_home.rs`.)

use std::process::Command;

use jqueue_tests::{make_staff, server_binary};

#[test]
fn a_database_in_the_old_default_moves_to_the_servers_own_on_first_run() -> anyhow::Result<()> {
    let home = tempfile::tempdir()?;
    let data_home = home.path().join(".local/share");
    let (old, new) = (data_home.join("jqueue"), data_home.join("jqueue-server"));
    make_staff(&old, "alice")?;
    std::fs::create_dir_all(old.join("tokens"))?;
    std::fs::write(old.join("tokens/lab_7420.token"), "the client's")?;
    let server = server_binary()?;
    let staff_list = || {
        Command::new(&server)
            .args(["staff", "list"])
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", &data_home)
            .output()
    };

    let first = staff_list()?;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&first.stdout),
        String::from_utf8_lossy(&first.stderr),
    );
    assert!(first.status.success(), "{stderr}");
    assert!(
        stdout.contains("alice"),
        "the moved database answers: {stdout}"
    );
    assert!(
        stderr.contains(&format!(
            "moved the server's data from {} to {}",
            old.display(),
            new.display()
        )),
        "{stderr}"
    );
    assert!(new.join("jqueue.db").is_file() && !old.join("jqueue.db").exists());
    assert!(
        old.join("tokens/lab_7420.token").is_file(),
        "the client's token moved"
    );

    // Said once: the next run just uses it.
    let second = staff_list()?;
    assert!(String::from_utf8_lossy(&second.stdout).contains("alice"));
    assert!(second.stderr.is_empty(), "{second:?}");
    Ok(())
}
