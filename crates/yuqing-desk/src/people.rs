//! People of the desk: add a person, disable or enable them, set their password. One set of
//! operations for the command line (`yuqing user …`) and the 系统 page, each in one transaction with
//! its audit entry. Disabling a person or setting a new password ends their open sessions.

use chrono::{DateTime, Utc};
use yuqing_core::people::{Role, Title};
use yuqing_store::desk::{self, NewUser, User};
use yuqing_store::{SqliteStore, Work};

use crate::password::{hash_password, random_token, PasswordError};

#[derive(Debug, thiserror::Error)]
pub enum PeopleError {
    /// The request itself is wrong (shown to the person who made it).
    #[error("{0}")]
    Invalid(String),
    #[error("没有用户“{0}”")]
    NotFound(String),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Store(#[from] yuqing_store::StoreError),
}

/// A fresh API token: the random hex of session ids, marked as a yuqing token.
pub fn new_token() -> Result<String, PasswordError> {
    Ok(format!("yq_{}", random_token()?))
}

/// The rules every new person must meet, whoever adds them.
pub fn check_new_person(u: &NewUser, known_channels: &[String]) -> Result<(), PeopleError> {
    let invalid = |m: String| Err(PeopleError::Invalid(m));
    if u.name.trim().is_empty() || u.name.contains(char::is_whitespace) || u.name.chars().count() > 64 {
        return invalid("用户名不能为空、不能含空白，且不超过 64 个字符".into());
    }
    let dept = u.department.as_deref().map(str::trim).filter(|d| !d.is_empty());
    if u.role == Some(Role::DepartmentMember) && dept.is_none() {
        return invalid("责任单位成员（department）须指定所属单位".into());
    }
    if u.titles.contains(&Title::DepartmentHead) && dept.is_none() {
        return invalid("部门负责人须指定所属单位".into());
    }
    if let Some(c) = u.channels.iter().find(|c| !known_channels.contains(c)) {
        return invalid(format!("通知渠道“{c}”没有在配置文件的 [[channels]] 中定义"));
    }
    Ok(())
}

/// Adds a person and returns them with their API token (shown once; only its hash is stored).
/// With a password they can also sign in to the pages (stored as an argon2id hash).
pub fn add_person(
    store: &SqliteStore,
    by: &str,
    u: &NewUser,
    password: Option<&str>,
    known_channels: &[String],
    now: DateTime<Utc>,
) -> Result<(User, String), PeopleError> {
    check_new_person(u, known_channels)?;
    let token = new_token()?;
    let password_hash = password.map(hash_password).transpose()?;
    let conn = store.connection();
    let tx = Work::begin(conn)?;
    let user = desk::add_user(&tx, u, &desk::token_hash(&token), now)?;
    if let Some(h) = &password_hash {
        yuqing_store::auth::set_password_hash(&tx, &user.name, h)?;
    }
    let detail = serde_json::json!({"role": user.role.as_str(), "department": user.department, "titles": user.titles, "password": password_hash.is_some()});
    desk::audit_append(&tx, by, "user.add", &format!("user:{}", user.name), &detail.to_string(), now)?;
    tx.commit()?;
    Ok((user, token))
}

/// Enables or disables a person; disabling ends their sessions and stops their token. Nobody can
/// disable themselves (so the last admin cannot lock everyone out by accident).
pub fn set_active(
    store: &SqliteStore,
    by: &str,
    name: &str,
    active: bool,
    now: DateTime<Utc>,
) -> Result<User, PeopleError> {
    if !active && by == name {
        return Err(PeopleError::Invalid("不能停用自己的账号".into()));
    }
    let conn = store.connection();
    let tx = Work::begin(conn)?;
    let user = desk::user_by_name(&tx, name)?.ok_or_else(|| PeopleError::NotFound(name.to_string()))?;
    desk::set_user_active(&tx, name, active)?;
    if !active {
        yuqing_store::auth::delete_user_sessions(&tx, user.id)?;
    }
    desk::audit_append(
        &tx,
        by,
        if active { "user.enable" } else { "user.disable" },
        &format!("user:{name}"),
        "{}",
        now,
    )?;
    tx.commit()?;
    Ok(User { active, ..user })
}

/// Sets a person's sign-in password; their open sessions end.
pub fn set_password(
    store: &SqliteStore,
    by: &str,
    name: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<(), PeopleError> {
    let hash = hash_password(password)?;
    let conn = store.connection();
    let tx = Work::begin(conn)?;
    let user = desk::user_by_name(&tx, name)?.ok_or_else(|| PeopleError::NotFound(name.to_string()))?;
    yuqing_store::auth::set_password_hash(&tx, name, &hash)?;
    yuqing_store::auth::delete_user_sessions(&tx, user.id)?;
    desk::audit_append(&tx, by, "user.passwd", &format!("user:{name}"), "{}", now)?;
    tx.commit()?;
    Ok(())
}

/// Issues a new API token for a person (the old one stops working).
pub fn reset_token(store: &SqliteStore, by: &str, name: &str, now: DateTime<Utc>) -> Result<String, PeopleError> {
    let token = new_token()?;
    let conn = store.connection();
    let tx = Work::begin(conn)?;
    if !desk::set_user_token(&tx, name, &desk::token_hash(&token))? {
        return Err(PeopleError::NotFound(name.to_string()));
    }
    desk::audit_append(&tx, by, "user.token", &format!("user:{name}"), "{}", now)?;
    tx.commit()?;
    Ok(token)
}

/// Ends the session `session` of `name` (signing out) with its audit entry; false when there was
/// no such session.
pub fn sign_out(store: &SqliteStore, name: &str, session: &str, now: DateTime<Utc>) -> Result<bool, PeopleError> {
    let conn = store.connection();
    let tx = Work::begin(conn)?;
    let ended = yuqing_store::auth::delete_session(&tx, session)?;
    if ended {
        desk::audit_append(&tx, name, "auth.logout", &format!("user:{name}"), "{}", now)?;
    }
    tx.commit()?;
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("yuqing.db")).unwrap();
        (dir, s)
    }

    fn person(name: &str, role: Role, dept: Option<&str>) -> NewUser {
        NewUser {
            name: name.into(),
            display_name: String::new(),
            role: Some(role),
            department: dept.map(String::from),
            titles: vec![],
            phone: None,
            email: None,
            channels: vec![],
        }
    }

    #[test]
    fn a_new_person_is_checked_stored_with_a_password_and_audited() {
        let (_d, s) = store();
        let now = Utc::now();
        let e = add_person(&s, "admin", &person("li", Role::DepartmentMember, None), None, &[], now).unwrap_err();
        assert!(e.to_string().contains("所属单位"), "{e}");
        let e = add_person(&s, "admin", &person("有 空格", Role::Officer, None), None, &[], now).unwrap_err();
        assert!(e.to_string().contains("空白"), "{e}");
        let e = add_person(&s, "admin", &person("wang", Role::Officer, None), Some("short"), &[], now).unwrap_err();
        assert!(matches!(e, PeopleError::Password(_)), "{e}");
        assert!(desk::user_by_name(s.connection(), "wang").unwrap().is_none(), "a refused person is not stored");

        let (u, token) =
            add_person(&s, "admin", &person("wang", Role::Officer, Some("教育局")), Some("long-enough-1"), &[], now)
                .unwrap();
        assert!(token.starts_with("yq_") && u.active);
        assert_eq!(desk::user_by_token(s.connection(), &token).unwrap().unwrap().name, "wang");
        let (_, hash) = yuqing_store::auth::user_with_password(s.connection(), "wang").unwrap().unwrap();
        assert!(crate::password::verify_password("long-enough-1", &hash.unwrap()));
        let e = add_person(&s, "admin", &person("wang", Role::Viewer, None), None, &[], now).unwrap_err();
        assert!(e.to_string().contains("已存在"), "{e}");
        let audit = desk::audit_recent(s.connection(), 10, 0).unwrap();
        assert!(audit.items.iter().any(|a| a.action == "user.add" && a.actor == "admin" && a.target == "user:wang"));
    }

    #[test]
    fn a_disabled_person_loses_token_and_sessions_and_nobody_disables_themselves() {
        let (_d, s) = store();
        let now = Utc::now();
        let (_, token) =
            add_person(&s, "admin", &person("wang", Role::Officer, None), Some("long-enough-1"), &[], now).unwrap();
        assert!(set_active(&s, "wang", "wang", false, now).unwrap_err().to_string().contains("自己"));
        let u = set_active(&s, "admin", "wang", false, now).unwrap();
        assert!(!u.active);
        assert!(
            desk::user_by_token(s.connection(), &token).unwrap().is_none(),
            "a disabled person's token stops working"
        );
        assert!(set_active(&s, "admin", "wang", true, now).unwrap().active);
        assert!(matches!(set_active(&s, "admin", "nobody", false, now), Err(PeopleError::NotFound(_))));
        set_password(&s, "admin", "wang", "another-pass-2", now).unwrap();
        let (_, hash) = yuqing_store::auth::user_with_password(s.connection(), "wang").unwrap().unwrap();
        assert!(crate::password::verify_password("another-pass-2", &hash.unwrap()));
        let new = reset_token(&s, "admin", "wang", now).unwrap();
        assert!(desk::user_by_token(s.connection(), &token).unwrap().is_none());
        assert!(desk::user_by_token(s.connection(), &new).unwrap().is_some());
    }
}
