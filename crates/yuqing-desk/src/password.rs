//! Passwords and random tokens: argon2id hashes with a random salt, the length rules every
//! password meets, and the random hex of session ids, CSRF tokens and API tokens.
//! Invariant: a password is never stored or logged, only its PHC hash; a malformed hash never matches.

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest password accepted, in bytes (argon2 hashes anything; this bounds the work).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// What can go wrong with a password.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("密码至少 {MIN_PASSWORD_CHARS} 个字符")]
    TooShort,
    #[error("密码过长（最多 {MAX_PASSWORD_BYTES} 字节）")]
    TooLong,
    #[error("无法取得随机数：{0}")]
    Random(String),
    #[error("无法计算密码哈希：{0}")]
    Hash(String),
}

/// Checks the length rules (at least 8 characters, at most 1 KiB).
pub fn check_password(password: &str) -> Result<(), PasswordError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong);
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    Ok(())
}

/// An argon2id hash (PHC string, default parameters: 19 MiB, 2 passes) with a random salt.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    check_password(password)?;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| PasswordError::Random(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the stored PHC string; a malformed hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    match PasswordHash::new(phc) {
        Ok(h) => argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
}

/// 32 random bytes, hex: session ids and CSRF tokens.
pub fn random_token() -> Result<String, PasswordError> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| PasswordError::Random(e.to_string()))?;
    Ok(hex::encode(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hashes_verify_and_differ_by_salt() {
        let a = hash_password("正确的马电池订书钉").unwrap();
        let b = hash_password("正确的马电池订书钉").unwrap();
        assert!(a.starts_with("$argon2id$v=19$"), "{a}");
        assert_ne!(a, b, "random salt");
        assert!(verify_password("正确的马电池订书钉", &a));
        assert!(!verify_password("正确的马电池订书", &a));
        assert!(!verify_password("x", "not a hash"));
        assert_eq!(hash_password("1234567"), Err(PasswordError::TooShort));
        assert_eq!(check_password("密码八个字符可以"), Ok(()));
        assert_eq!(check_password(&"a".repeat(2000)), Err(PasswordError::TooLong));
    }
}
