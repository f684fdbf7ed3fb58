//! `yuqing user add --password-stdin` and `yuqing user passwd`: passwords come from standard input,
//! are at least 8 characters, and are stored only as argon2id hashes; a new password ends the
//! user's sessions.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::*;

fn with_stdin(cmd: &mut Command, input: &str) -> std::process::Output {
    let mut child =
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn yuqing");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("wait for yuqing")
}

fn password_hash(data: &std::path::Path, name: &str) -> Option<String> {
    let c = yuqing_store::Connection::open(data.join("yuqing.db")).unwrap();
    c.query_row("SELECT password_hash FROM users WHERE name = ?1", [name], |r| r.get(0)).unwrap()
}

#[test]
fn passwords_come_from_stdin_are_checked_and_stored_as_argon2id() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");

    // The first admin, with a password.
    let out = with_stdin(
        yuqing(&data).args(["user", "add", "admin", "--role", "admin", "--password-stdin"]),
        "管理员的密码-2026\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("API 令牌") && text.contains("已设置登录密码"), "{text}");
    let h = password_hash(&data, "admin").expect("hash stored");
    assert!(h.starts_with("$argon2id$"), "{h}");
    assert!(!h.contains("管理员的密码"));

    // Too short: refused, nothing created.
    let out =
        with_stdin(yuqing(&data).args(["user", "add", "short", "--role", "viewer", "--password-stdin"]), "1234567\n");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("至少 8 个字符"), "{}", stderr(&out));
    let out = with_stdin(yuqing(&data).args(["user", "add", "empty", "--role", "viewer", "--password-stdin"]), "");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("没有密码"), "{}", stderr(&out));

    // Without --password-stdin: a token only (API use), no password.
    let out = run(yuqing(&data).args(["user", "add", "script", "--role", "officer"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(password_hash(&data, "script"), None);

    // passwd sets it, and ends the user's sessions.
    {
        let c = yuqing_store::Connection::open(data.join("yuqing.db")).unwrap();
        c.execute(
            "INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at, csrf) \
             SELECT 'x', id, 0, 0, 9999999999, 'c' FROM users WHERE name = 'script'",
            [],
        )
        .unwrap();
    }
    let out = with_stdin(yuqing(&data).args(["user", "passwd", "script"]), "another password\r\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let h = password_hash(&data, "script").unwrap();
    assert!(h.starts_with("$argon2id$"));
    let c = yuqing_store::Connection::open(data.join("yuqing.db")).unwrap();
    assert_eq!(c.query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get::<_, i64>(0)).unwrap(), 0);
    let actions: Vec<String> = c
        .prepare("SELECT action FROM audit_log ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(actions, ["user.add", "user.add", "user.passwd"]);

    // Unknown user.
    let out = with_stdin(yuqing(&data).args(["user", "passwd", "nobody"]), "long enough\n");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("没有用户“nobody”"), "{}", stderr(&out));
}
