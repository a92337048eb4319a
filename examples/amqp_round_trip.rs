//! One AMQP client's publish-consume round trip, the baseline that
//! `scripts/broker-costs.sh --round-trips` sets RabbitMQ's tasks per second against (as
//! it sets Redis's against `redis-benchmark -c 1` PINGs and PostgreSQL's against
//! `pgbench -c 1` `SELECT 1`s).
//!
//! Usage: `amqp_round_trip URL N classic|quorum|take`: N round trips after 200
//! unmeasured ones, on one connection and one channel; prints round trips a second. A
//! round trip: publish a 16-byte message to a queue this client consumes (prefetch 1,
//! manual acknowledgements), wait until it is delivered back, acknowledge it.
//!
//! - `classic`: a classic, non-durable, exclusive, auto-delete queue, publisher confirms
//!   off, transient messages. The fastest honest single-client figure: nothing of it is
//!   written to disk or waits for a confirm, so it measures the network and the broker's
//!   routing and delivery, as a PING measures Redis's.
//! - `quorum`: what hunt's own task queue costs. hunt's tasks live in a quorum queue
//!   (one replica here) and are published persistent, with publisher confirms; each
//!   delivery and acknowledgement of a quorum queue is a Raft command the node appends
//!   to its log. Here each publish waits for its confirm and its delivery, so a round
//!   trip pays the log's write as well.
//! - `take`: a hunt worker's take alone, with no report: the quorum queue filled first
//!   (every message confirmed), then each round trip is an acknowledgement and the
//!   next delivery it lets through (prefetch 1).
//!
//! The connection is opened as hunt's RabbitMQ backend opens its own: lapin's defaults,
//! each call driven to its end by a current-thread tokio runtime.

#[cfg(feature = "rabbitmq")]
fn main() {
    match round_trip::run(std::env::args().skip(1).collect()) {
        Ok(rate) => println!("{rate:.1}"),
        Err(e) => {
            eprintln!("amqp_round_trip: {e:#}");
            std::process::exit(2);
        }
    }
}

#[cfg(not(feature = "rabbitmq"))]
fn main() {
    eprintln!("amqp_round_trip: built without the rabbitmq feature: build with default features");
    std::process::exit(2);
}

#[cfg(feature = "rabbitmq")]
mod round_trip {
    use anyhow::{bail, Context, Result};
    use futures_lite::StreamExt;
    use lapin::options::{
        BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
        ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
    };
    use lapin::types::{AMQPValue, FieldTable};
    use lapin::{BasicProperties, Connection, ConnectionProperties};
    use std::time::{Duration, Instant};

    /// Round trips made before the clock starts (the connection's and the queue's
    /// first messages are slower).
    const WARM_UP: u64 = 200;
    /// How long any one call may take: a node that stops answering ends the run.
    const CALL_TIMEOUT: Duration = Duration::from_secs(10);

    /// Parses `URL N KIND` and measures; round trips a second.
    pub fn run(args: Vec<String>) -> Result<f64> {
        let [url, n, kind] = &args[..] else {
            bail!("usage: amqp_round_trip URL N classic|quorum|take");
        };
        let n: u64 = n
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .with_context(|| format!("N must be a whole number above 0, not '{n}'"))?;
        let kind = match kind.as_str() {
            "classic" => Kind::Classic,
            "quorum" => Kind::Quorum,
            "take" => Kind::Take,
            _ => bail!("the kind must be classic, quorum or take, not '{kind}'"),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start a tokio runtime")?;
        rt.block_on(async {
            tokio::time::timeout(
                CALL_TIMEOUT + Duration::from_micros(n.saturating_mul(50_000)),
                measure(url, n, kind),
            )
            .await
            .context("the broker stopped answering")?
        })
    }

    /// What a round trip is (the module's doc says each).
    #[derive(Clone, Copy, PartialEq)]
    enum Kind {
        Classic,
        Quorum,
        Take,
    }

    /// `n` timed round trips (after [`WARM_UP`]) of the kind asked for.
    async fn measure(url: &str, n: u64, kind: Kind) -> Result<f64> {
        let quorum = kind != Kind::Classic;
        let conn = tokio::time::timeout(
            CALL_TIMEOUT,
            Connection::connect(url, ConnectionProperties::default()),
        )
        .await
        .context("no answer from the broker")?
        .with_context(|| {
            format!(
                "cannot connect to {}",
                url.split('@').next_back().unwrap_or("")
            )
        })?;
        let ch = conn.create_channel().await?;
        ch.basic_qos(1, BasicQosOptions::default()).await?;
        let (queue, props) = if quorum {
            ch.confirm_select(ConfirmSelectOptions::default()).await?;
            let mut args = FieldTable::default();
            args.insert(
                "x-queue-type".into(),
                AMQPValue::LongString("quorum".into()),
            );
            args.insert("x-quorum-initial-group-size".into(), AMQPValue::LongInt(1));
            // A quorum queue is durable and neither exclusive nor auto-deleted: it is
            // deleted below.
            let name = format!("amqp-round-trip.{}", std::process::id());
            let opts = QueueDeclareOptions {
                durable: true,
                ..Default::default()
            };
            ch.queue_declare(&name, opts, args).await?;
            (name, BasicProperties::default().with_delivery_mode(2))
        } else {
            let opts = QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            };
            let q = ch.queue_declare("", opts, FieldTable::default()).await?;
            (q.name().to_string(), BasicProperties::default())
        };
        let mut consumer = ch
            .basic_consume(
                &queue,
                "",
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let body = [b'x'; 16];
        if kind == Kind::Take {
            let mut confirms = Vec::new();
            for _ in 0..WARM_UP + n {
                confirms.push(
                    ch.basic_publish(
                        "",
                        &queue,
                        BasicPublishOptions::default(),
                        &body,
                        props.clone(),
                    )
                    .await?,
                );
            }
            for c in confirms {
                c.await?;
            }
        }
        let mut started = Instant::now();
        for i in 0..WARM_UP + n {
            if i == WARM_UP {
                started = Instant::now();
            }
            if kind == Kind::Take {
                let d = consumer
                    .next()
                    .await
                    .context("the broker ended the consumer")??;
                d.acker.ack(BasicAckOptions::default()).await?;
                continue;
            }
            // Without confirm_select the confirm is `NotRequested` at once.
            let confirm = ch
                .basic_publish(
                    "",
                    &queue,
                    BasicPublishOptions::default(),
                    &body,
                    props.clone(),
                )
                .await?;
            confirm.await?;
            let d = consumer
                .next()
                .await
                .context("the broker ended the consumer")??;
            d.acker.ack(BasicAckOptions::default()).await?;
        }
        let rate = n as f64 / started.elapsed().as_secs_f64();
        if quorum {
            ch.queue_delete(&queue, QueueDeleteOptions::default())
                .await?;
        }
        let _ = conn.close(200, "done").await;
        Ok(rate)
    }
}
