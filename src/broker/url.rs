//! How a `--broker` URL is shown: never with its password. (Which backend a URL names
//! is the backends table's business: [`super::backend::of_url`].)

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
        // scheme://SECRET@host: a lone userinfo is taken as the password.
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
            redact("broker://:s3cret@host:6379/2"),
            "broker://:***@host:6379/2"
        );
        assert_eq!(redact("broker://user:pw@h:1"), "broker://user:***@h:1");
        assert_eq!(redact("broker://pw@h:1"), "broker://***@h:1");
        assert_eq!(redact("broker://h:1/0"), "broker://h:1/0");
        assert_eq!(redact("file:/tmp/q.db"), "file:/tmp/q.db");
        assert_eq!(
            redact("broker+unix:///tmp/s.sock"),
            "broker+unix:///tmp/s.sock"
        );
        // An '@' in the path is not a password's end.
        assert_eq!(redact("broker://h:1/a@b"), "broker://h:1/a@b");
    }
}
