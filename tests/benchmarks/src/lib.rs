//! Shared pieces of the benchmarks (`src/bin/`): each benchmark is a command of its own,
//! never a timed test, and reports its figures against a raw baseline from the same run.

pub mod machine;
pub mod places;
pub mod pushes;
