//! The gateway's HTTP API against the real MariaDB, RabbitMQ and S3 server, one module per
//! resource (as zero-to-production's `tests/api/`): each test spawns its own gateway
//! in-process on a random port with a fresh database and broker namespace
//! ([`helpers::Gateway`]) and talks HTTP to it. The persistence worker is not running, so
//! tests that read orders insert the rows it would write. The upload tests also need the
//! S3 server (Garage) and skip without it.

mod account_mail;
mod accounts;
mod admin;
mod contract;
mod downloads;
mod helpers;
mod links;
mod lists;
mod office;
mod orders;
mod payments;
mod portal;
mod quotas;
mod report_days;
mod reports;
mod sign_in;
mod slow_clients;
mod staff;
mod startup;
mod uploads;
