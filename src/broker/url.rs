//! `--broker` URLs: which backend a URL names, and how a URL is shown (never with its
//! password).

use anyhow::{bail, Result};

/// The backend a URL names.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `redis://`, `redis+unix://`, `unix://`.
    Redis,
    /// `sqlite:PATH`.
    Sqlite,
}

/// The backend of `url`; a URL of no known scheme is refused with the forms hunt takes.
pub fn scheme(url: &str) -> Result<Scheme> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("redis://")
        || lower.starts_with("redis+unix://")
        || lower.starts_with("unix://")
    {
        Ok(Scheme::Redis)
    } else if lower.starts_with("sqlite:") {
        Ok(Scheme::Sqlite)
    } else {
        bail!(
            "--broker {:?} is not a broker URL hunt knows: use redis://[:PASSWORD@]HOST:PORT[/DB], redis+unix:///PATH or sqlite:PATH",
            redact(url)
        )
    }
}

/// `url` with any password replaced by `***`, for messages, JSON and status output.
pub fn redact(url: &str) -> String {
    // scheme://[user][:password]@host...: the password is between the first ':' after
    // "//" and the last '@' before the first '/' of the path.
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[start..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let userinfo = &authority[..at];
    let shown = match userinfo.find(':') {
        Some(colon) => format!("{}:***", &userinfo[..colon]),
        None if userinfo.is_empty() => String::new(),
        // redis://SECRET@host: a lone userinfo is taken as the password.
        None => "***".to_string(),
    };
    format!("{}{shown}{}", &url[..start], &rest[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("redis://:s3cret@host:6379/2"),
            "redis://:***@host:6379/2"
        );
        assert_eq!(redact("redis://user:pw@h:1"), "redis://user:***@h:1");
        assert_eq!(redact("redis://pw@h:1"), "redis://***@h:1");
        assert_eq!(redact("redis://h:1/0"), "redis://h:1/0");
        assert_eq!(redact("sqlite:/tmp/q.db"), "sqlite:/tmp/q.db");
        assert_eq!(
            redact("redis+unix:///tmp/s.sock"),
            "redis+unix:///tmp/s.sock"
        );
        // An '@' in the path is not a password's end.
        assert_eq!(redact("redis://h:1/a@b"), "redis://h:1/a@b");
    }

    #[test]
    fn schemes_are_told_apart() {
        assert_eq!(scheme("redis://h:1").unwrap(), Scheme::Redis);
        assert_eq!(scheme("REDIS://h:1").unwrap(), Scheme::Redis);
        assert_eq!(scheme("redis+unix:///s").unwrap(), Scheme::Redis);
        assert_eq!(scheme("sqlite:q.db").unwrap(), Scheme::Sqlite);
        let e = scheme("http://:pw@h").unwrap_err().to_string();
        assert!(
            e.contains("is not a broker URL") && !e.contains("pw"),
            "{e}"
        );
    }
}
