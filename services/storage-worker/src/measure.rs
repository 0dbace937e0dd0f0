//! Measuring bytes already stored: size, SHA-256 and sniffed content type, computed the same
//! way `ObjectStore::upload_stream` computes them on the way in, in one pass with memory
//! bounded by the sniff window. Used when a redelivered event finds its file already stored.

use bureau_platform::object_store::{Measurement, Uploaded};
use bytes::Bytes;
use futures::{Stream, StreamExt};

/// Reads `body` to its end and reports what it held.
pub async fn measure<S, E>(mut body: S) -> Result<Uploaded, E>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let mut measurement = Measurement::new();
    while let Some(chunk) = body.next().await {
        measurement.update(&chunk?);
    }
    Ok(measurement.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn chunks(parts: &[&'static [u8]]) -> impl Stream<Item = Result<Bytes, String>> + Unpin {
        futures::stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p)))
                .collect::<Vec<_>>(),
        )
    }

    #[tokio::test]
    async fn measures_across_chunks() {
        let measured = measure(chunks(&[b"%PDF-", b"1.7\n", b"rest"]))
            .await
            .unwrap();
        assert_eq!(measured.size, 13);
        assert_eq!(measured.content_type, "application/pdf");
        let whole = Sha256::digest(b"%PDF-1.7\nrest");
        assert_eq!(measured.sha256, hex::encode(whole));
    }

    #[tokio::test]
    async fn an_empty_object_measures_zero() {
        let measured = measure(chunks(&[])).await.unwrap();
        assert_eq!(measured.size, 0);
        assert_eq!(measured.sha256, hex::encode(Sha256::digest(b"")));
    }

    #[tokio::test]
    async fn a_failing_read_is_reported() {
        let failing =
            futures::stream::iter(vec![Ok(Bytes::from_static(b"x")), Err("reset".to_owned())]);
        assert_eq!(measure(failing).await.unwrap_err(), "reset");
    }
}
