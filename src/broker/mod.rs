//! Task-queue brokers shared by worker processes (Redis, SQLite).

pub mod status;
