//! Reading a server-sent event stream of the web gateway in tests, one event at a time.

use anyhow::Context;
use futures::StreamExt;
use serde_json::Value;

use crate::{DEADLINE, TestStack};

/// Server-sent events as they arrive: `(event, data)` pairs; comments (keep-alives) skipped.
pub struct SseReader {
    body: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl SseReader {
    /// Opens `path` as whoever `token` belongs to; fails unless the answer is 200.
    pub async fn open(stack: &TestStack, path: &str, token: &str) -> anyhow::Result<SseReader> {
        let response = stack
            .http
            .get(stack.web_url(path))
            .bearer_auth(token)
            .header("accept", "text/event-stream")
            .send()
            .await?;
        anyhow::ensure!(response.status() == 200, "{path}: {}", response.status());
        Ok(SseReader {
            body: response.bytes_stream().boxed(),
            buffer: String::new(),
        })
    }

    /// The next event, within [`DEADLINE`].
    pub async fn next(&mut self) -> anyhow::Result<(String, Value)> {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = "message".to_owned();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        event = value.trim().to_owned();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim_start());
                    }
                }
                if !data.is_empty() {
                    return Ok((event, serde_json::from_str(&data)?));
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .context("no server-sent event in time")?
                .context("the event stream ended")??;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}
