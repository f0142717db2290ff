//! Tenants and their bearer tokens.
//!
//! The configuration holds only the SHA-256 digest of each token
//! (`callassist hash-token` prints it), so a leaked config file does not leak
//! credentials. A request's token is hashed and looked up; the tenant it
//! belongs to scopes every call the request can start or see.

use crate::session::Tenant;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// The tenants allowed in, by the SHA-256 digest of their token. Empty means
/// authentication is off (single-tenant deployments behind a trusted
/// network).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tokens {
    /// Token digest → tenant.
    by_digest: HashMap<[u8; 32], Tenant>,
}

/// The hex SHA-256 digest of `token`, as the configuration stores it.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_digest(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    let text = text.strip_prefix("sha256:").unwrap_or(text);
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl Tokens {
    /// Parses `tenant=digest` pairs separated by commas (the `tenants`
    /// configuration key). A tenant may have several tokens (rotation).
    pub fn parse(text: &str) -> Result<Tokens, String> {
        let mut by_digest = HashMap::new();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, digest) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?} is not tenant=sha256-hex-digest"))?;
            let name = name.trim();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            {
                return Err(format!(
                    "tenant name {name:?} must be letters, digits and `._-`"
                ));
            }
            let digest = parse_digest(digest).ok_or_else(|| {
                format!("the token digest of tenant {name:?} is not 64 hex digits (use `callassist hash-token`)")
            })?;
            if by_digest.insert(digest, Tenant::new(name)).is_some() {
                return Err(format!("a token digest is listed twice (tenant {name:?})"));
            }
        }
        Ok(Tokens { by_digest })
    }

    /// Whether authentication is on.
    pub fn enabled(&self) -> bool {
        !self.by_digest.is_empty()
    }

    /// The tenant of a presented token, if it is one of ours.
    pub fn tenant(&self, token: &str) -> Option<&Tenant> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.by_digest.get(&digest)
    }

    /// The tenant of an `authorization` header value (`Bearer <token>`).
    pub fn authenticate(&self, authorization: Option<&str>) -> Option<&Tenant> {
        let value = authorization?.trim();
        let (scheme, token) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        self.tenant(token.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_matched_by_digest_and_scheme() {
        let tokens = Tokens::parse(&format!(
            "bank-a={}, bank-b=sha256:{}",
            hash_token("secret-a"),
            hash_token("secret-b")
        ))
        .unwrap();
        assert!(tokens.enabled());
        assert_eq!(
            tokens
                .authenticate(Some("Bearer secret-a"))
                .unwrap()
                .as_str(),
            "bank-a"
        );
        assert_eq!(
            tokens
                .authenticate(Some("bearer secret-b"))
                .unwrap()
                .as_str(),
            "bank-b"
        );
        assert!(tokens.authenticate(Some("Bearer secret-c")).is_none());
        assert!(tokens.authenticate(Some("Basic secret-a")).is_none());
        assert!(tokens.authenticate(Some("secret-a")).is_none());
        assert!(tokens.authenticate(None).is_none());
        assert!(!Tokens::default().enabled());
    }

    #[test]
    fn bad_token_lists_say_what_is_wrong() {
        assert!(Tokens::parse("bank-a").unwrap_err().contains("tenant="));
        assert!(Tokens::parse("bank a=00")
            .unwrap_err()
            .contains("tenant name"));
        assert!(Tokens::parse("a=1234").unwrap_err().contains("hash-token"));
        let d = hash_token("x");
        assert!(Tokens::parse(&format!("a={d},b={d}"))
            .unwrap_err()
            .contains("twice"));
    }
}
