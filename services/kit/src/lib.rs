//! Small helpers that every Bureau crate may use, the event bus included, so none of them
//! writes its own: [`retry`] (waiting for something to come back) and [`text`] (cutting
//! text to a length). Nothing here knows about Bureau's services.

pub mod retry;
pub mod text;
