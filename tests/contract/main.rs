//! The broker contract: every rule a task-queue backend keeps (leases taken over from
//! killed and paused workers and renewed by slow ones, the dead letter, one answer,
//! fenced reports, refused data sets and garbage, the broker going away, hunts kept
//! apart and expired, bad URLs, warm and cold shutdown, `hunt status`), each case
//! written once in `cases/` and run once per backend, the backend in the test's path
//! (`redis::a_killed_workers_task_is_taken_over_after_the_lease`,
//! `sqlite::a_killed_workers_task_is_taken_over_after_the_lease`).
//!
//! A new backend joins with one line in the [`contract!`] call below, beside its test
//! side: its own file in `tests/broker/` implementing `broker::Backend` and
//! `broker::Server` (and its `mod` line there). What only one backend can have stays
//! beside it: `tests/redis.rs` (persistence), `tests/sqlite.rs` (which files are a
//! queue).
#![cfg(any(
    feature = "redis",
    feature = "sqlite",
    feature = "postgres",
    feature = "rabbitmq"
))]

#[path = "../adversary/mod.rs"]
mod adversary;
#[path = "../broker/mod.rs"]
mod broker;
mod cases;

/// For each backend `NAME: TYPE`, a module `NAME` holding one `#[test]` per case, which
/// runs `cases::CASE(&TYPE::default())` (skipped, with a line, where the backend cannot
/// run here). A backend may follow its type with `ignore: [CASE = "why", ...]`: those
/// cases are `#[ignore = "why"]` for it alone (a rule it does not keep yet).
macro_rules! contract {
    (
        backends: [$(
            $(#[$attr:meta])* $name:ident: $backend:ty $(, ignore: [$($case:ident = $why:literal),* $(,)?])?;
        )*],
        cases: $cases:tt
    ) => {
        $( $(#[$attr])* contract!(@backend $name, $backend, [$($($case = $why),*)?], $cases); )*
    };
    (@backend $name:ident, $backend:ty, $ignored:tt, $cases:tt) => {
        mod $name {
            use crate::broker::Backend;

            fn run(case: fn(&dyn Backend)) {
                let b = <$backend>::default();
                if b.here() {
                    case(&b);
                }
            }

            contract!(@tests ($) $ignored $cases);
        }
    };
    // A macro of this backend's own picks each case's attributes: an arm per ignored
    // case, then one for the rest (`$d` is a `$` for the inner macro's own variables).
    (@tests ($d:tt) [$($ignored:ident = $why:literal),*] [$($case:ident),* $(,)?]) => {
        macro_rules! contract_test {
            $(($ignored) => {
                #[test]
                #[ignore = $why]
                fn $ignored() {
                    run(crate::cases::$ignored)
                }
            };)*
            ($d case:ident) => {
                #[test]
                fn $d case() {
                    run(crate::cases::$d case)
                }
            };
        }
        $( contract_test!($case); )*
    };
}

contract! {
    backends: [
        #[cfg(feature = "redis")] redis: crate::broker::redis::RedisBackend;
        #[cfg(feature = "sqlite")] sqlite: crate::broker::sqlite::SqliteBackend;
        #[cfg(feature = "postgres")] postgres: crate::broker::postgres::PostgresBackend;
        #[cfg(feature = "rabbitmq")] rabbitmq: crate::broker::rabbitmq::RabbitBackend, ignore: [
            a_late_report_and_a_repeated_one_change_nothing = "RabbitMQ hands a delivery to another consumer only when the holder's connection closes, never while it lives: one connection holding three takes keeps them all, so no lease runs out under it",
            a_handed_back_lease_is_fenced_and_a_restarted_worker_gets_its_task_back = "RabbitMQ hands a delivery to another consumer only when the holder's connection closes: a worker restarted under its name on a live connection cannot get its own delivery again (a restarted process has a new connection, and its old delivery comes back when the old one closes)",
            calls_sent_ahead_are_answered_in_order_under_the_same_rules = "a RabbitMQ report sent ahead is answered by the coordinator's verdict, and this case drives the queue with no coordinator (the worker's two lanes on RabbitMQ are run by every case that has one)",
            a_report_that_takes_the_next_task_keeps_every_rule = "a RabbitMQ report waits for the coordinator's verdict (the one consumer of reports decides the one answer) and this case drives the queue with no coordinator; its lease also runs out by time, which RabbitMQ's does not (see above)",
        ];
    ],
    cases: [
        task_sizes_of_one_seven_and_more_than_the_set_give_the_answer,
        one_answer_when_every_file_holds_the_needle,
        several_finds_give_one_answer,
        a_late_report_and_a_repeated_one_change_nothing,
        a_report_that_takes_the_next_task_keeps_every_rule,
        a_handed_back_lease_is_fenced_and_a_restarted_worker_gets_its_task_back,
        calls_sent_ahead_are_answered_in_order_under_the_same_rules,
        every_worker_stops_soon_after_the_find,
        the_find_stops_the_hunt_early,
        a_slow_poll_gives_the_same_answers,
        a_killed_workers_task_is_taken_over_after_the_lease,
        a_paused_worker_comes_back_harmlessly,
        a_slow_live_worker_renews_its_lease_and_keeps_its_task,
        a_task_that_fails_every_attempt_is_failed_and_the_answer_unknown,
        max_attempts_lead_to_failed_and_unknown,
        a_worker_whose_folder_differs_refuses_and_a_regenerated_copy_serves,
        a_garbage_task_entry_is_refused_and_the_hunt_still_answers,
        the_broker_going_away_ends_the_hunt_in_one_line_and_workers_reconnect,
        a_worker_serves_its_broker_again_once_it_comes_back,
        hunts_on_one_broker_stay_apart_and_their_records_expire,
        bad_brokers_are_refused_in_one_line_and_passwords_never_show,
        sigterm_finishes_the_task_in_hand_and_ctrl_c_hands_it_back,
        status_shows_the_task_table_and_the_live_workers_and_watches,
    ]
}
