//! How the RabbitMQ backend dials and waits: every lapin call bounded, and a
//! connection that reached its broker once dialling again while a restarted node comes
//! back (`hunt race --fault kill-broker`), so that an outage is an error the caller's
//! retries see, never a wait without end.

use super::{parse, shown, wire, Rabbit, CALL_TIMEOUT, CONNECT_TIMEOUT, REDIAL_PATIENCE};
use anyhow::{anyhow, bail, Result};
use lapin::{Connection, ConnectionProperties};
use std::time::{Duration, Instant};

impl Rabbit {
    /// Opens a connection to `url`, with a heartbeat of `heartbeat` seconds where given.
    /// Once this connection has reached the broker, a failed dial is tried again for up
    /// to [`REDIAL_PATIENCE`] (a restarted node takes seconds to listen again); the first
    /// dial, and a refused user or vhost, fail at once.
    pub(super) fn dial(&self, heartbeat: Option<u16>) -> Result<Connection> {
        let started = Instant::now();
        loop {
            match self.dial_once(heartbeat) {
                Ok(c) => {
                    self.reached.set(true);
                    return Ok(c);
                }
                Err(e) => {
                    let said = format!("{e:#}");
                    let fatal = said.contains("refused the user") || said.contains("refused the vhost");
                    if !self.reached.get() || fatal || started.elapsed() > REDIAL_PATIENCE {
                        return Err(e);
                    }
                    crate::interrupt::check()?;
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    /// One try of [`Rabbit::dial`].
    fn dial_once(&self, heartbeat: Option<u16>) -> Result<Connection> {
        let uri = parse(&self.url, heartbeat)?;
        let props = ConnectionProperties::default();
        let tls = (uri.scheme == lapin::uri::AMQPScheme::AMQPS).then(tls_config);
        let r = self.rt.block_on(async {
            let connect = async {
                match tls {
                    Some(config) => Connection::connect_uri_with_config(uri, props, config).await,
                    None => Connection::connect_uri(uri, props).await,
                }
            };
            tokio::time::timeout(CONNECT_TIMEOUT, connect).await
        });
        match r {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(wire::explain(&e, &self.url)),
            Err(_) => bail!(
                "cannot reach the broker at {} (no answer within {} s): is RabbitMQ running there? start it, or fix --broker",
                shown(&self.url),
                CONNECT_TIMEOUT.as_secs()
            ),
        }
    }

    /// Runs `f` for at most [`CALL_TIMEOUT`]: `None` past it. A broker killed under a
    /// call may leave its answer (a confirm, a declare-ok) owed for ever.
    pub(super) fn bounded<F: std::future::Future>(&self, f: F) -> Option<F::Output> {
        self.rt
            .block_on(async { tokio::time::timeout(CALL_TIMEOUT, f).await })
            .ok()
    }

    /// Runs `f` for at most `wait`: `None` past it. A zero wait polls `f` once, with no
    /// timer: tokio rounds a timer up to its next millisecond tick, so a zero timeout
    /// parked the thread for up to a millisecond at every look (a take's look at the
    /// news, the coordinator's last look at the reports after each batch), and RabbitMQ's
    /// workers, which wait for the coordinator's reply to every report, paid it per task.
    pub(super) fn within<F: std::future::Future>(&self, wait: Duration, f: F) -> Option<F::Output> {
        self.rt.block_on(async {
            if wait.is_zero() {
                futures_lite::future::poll_once(f).await
            } else {
                tokio::time::timeout(wait, f).await.ok()
            }
        })
    }

    /// The error of a call [`Rabbit::bounded`] gave up on.
    pub(super) fn silent(&self) -> anyhow::Error {
        anyhow!(
            "the broker at {} did not answer within {} s",
            shown(&self.url),
            CALL_TIMEOUT.as_secs()
        )
    }
}

/// The TLS of an `amqps://` connection (lapin's rustls, with ring): the server is
/// checked against the system's roots and, with `--broker-ca`, that CA too (lapin adds
/// the CA to the roots), and its certificate must name the URL's host.
fn tls_config() -> lapin::tcp::OwnedTLSConfig {
    // Ring as the process's provider, as the other backends install it (rustls marks
    // it deprecated for lacking post-quantum key exchange); "already set" is fine.
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    lapin::tcp::OwnedTLSConfig {
        identity: None,
        cert_chain: crate::broker::tls::ca().map(|c| String::from_utf8_lossy(&c.pem).into_owned()),
    }
}
