//! Rebuilds this crate when a migration is added or changed: `sqlx::migrate!` (in
//! `database.rs`) embeds `migrations/` at compile time, and cargo does not watch that
//! directory by itself, so a new migration file was silently left out of the binaries.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
