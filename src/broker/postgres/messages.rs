//! The PostgreSQL backend's words: an error of the `postgres` crate as one line that
//! names the broker and the fix, and a URL as it is shown (never with its password).

use anyhow::anyhow;
use postgres::Config;
use std::str::FromStr;

/// An error of the `postgres` crate as one line naming the broker and the fix, never
/// its password.
pub(super) fn explain(e: &postgres::Error, url: &str) -> anyhow::Error {
    use postgres::error::SqlState;
    let at = shown(url);
    let said = scrub(&full_error(e), url)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let forms = "postgres://USER:PASSWORD@HOST:PORT/DB";
    if said.contains("no encryption") {
        return anyhow!("the broker at {at} takes connections from here only over TLS ({said}): add ?sslmode=verify-full to --broker (and --broker-ca FILE)");
    }
    match e.code() {
        Some(c) if *c == SqlState::INVALID_PASSWORD => {
            return anyhow!("the broker at {at} refused the password: give the right one in --broker ({forms})")
        }
        Some(c) if *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
            return anyhow!("the broker at {at} refused the connection ({said}): check the user in --broker, and the server's pg_hba.conf")
        }
        Some(c) if *c == SqlState::INVALID_CATALOG_NAME => {
            return anyhow!("the broker at {at} has no such database ({said}): create it (`createdb`), or fix --broker")
        }
        Some(c) if *c == SqlState::TOO_MANY_CONNECTIONS => {
            return anyhow!("the broker at {at} has no connection free ({said}): raise its max_connections, or run fewer workers")
        }
        _ => {}
    }
    if said.contains("invalid peer certificate") {
        return anyhow!("the broker's certificate is not one the CA vouches for, so hunt refused it: give the CA that signed it with --broker-ca FILE, and a HOST its certificate names, or sslmode=verify-ca (the broker at {at}: {said})");
    }
    if said.contains("server does not support TLS") {
        return anyhow!("the broker at {at} does not speak TLS ({said}): turn on its ssl, or drop sslmode from --broker on a trusted network");
    }
    if said.contains("password missing") {
        return anyhow!("the broker at {at} needs a password: give it in --broker ({forms})");
    }
    if said.contains("unexpected message")
        || said.contains("invalid message")
        || said.contains("unexpected EOF")
        || said.contains("unknown authentication")
        || said.contains("bytes remaining on stream")
    {
        return anyhow!("the server at {at} does not speak PostgreSQL ({said}): is --broker the address of a PostgreSQL server?");
    }
    if e.is_closed() || e.as_db_error().is_none() {
        return anyhow!("cannot reach the broker at {at} ({said}): is PostgreSQL running there? start it, or fix --broker");
    }
    anyhow!("the broker at {at} failed: {said}")
}

/// `url` as messages and `hunt status` show it: the user stays (a lone userinfo is the
/// user in PostgreSQL's URLs), the password, in the userinfo or the query, is `***`.
pub fn shown(url: &str) -> String {
    let (head, query) = url.split_once('?').map_or((url, None), |(h, q)| (h, Some(q)));
    let mut out = match head.find("://").map(|i| i + 3) {
        Some(start) => {
            let rest = &head[start..];
            let end = rest.find('/').unwrap_or(rest.len());
            match rest[..end].rfind('@') {
                Some(at) => match rest[..at].split_once(':') {
                    Some((user, _)) => format!("{}{user}:***{}", &head[..start], &rest[at..]),
                    None => head.to_string(),
                },
                None => head.to_string(),
            }
        }
        None => head.to_string(),
    };
    if let Some(q) = query {
        let params: Vec<String> = q
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

/// The error with its sources, on one line.
fn full_error(e: &postgres::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(x) = src {
        let t = x.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = x.source();
    }
    s
}

/// `text` with the password of `url`, if any, replaced.
pub(super) fn scrub(text: &str, url: &str) -> String {
    let mut out = text.replace(url, &shown(url));
    if let Ok(c) = Config::from_str(&super::tls::split(url).0) {
        if let Some(pw) = c.get_password() {
            let pw = String::from_utf8_lossy(pw).to_string();
            if !pw.is_empty() {
                out = out.replace(&pw, "***");
            }
        }
    }
    out
}
