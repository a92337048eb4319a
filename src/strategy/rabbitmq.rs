//! `rabbitmq`: the treasure hunt on RabbitMQ, Celery's canonical broker. The coordinator
//! ([`super::coordinator`]) puts one message per task on a quorum queue; `hunt worker`
//! processes ([`crate::worker::serve`]), K local ones started for the hunt or any number
//! already serving the broker from other hosts, take them with manual acknowledgements
//! and prefetch 1, and the coordinator, the one consumer of the hunt's reports, counts
//! each task once and decides the one answer. The backend is [`crate::broker::rabbitmq`];
//! without `--broker`, a private node is started for the hunt (seconds) or the race.

/// The strategy.
pub type Rabbitmq = super::coordinator::Coordinator<crate::broker::rabbitmq::RabbitKind>;
