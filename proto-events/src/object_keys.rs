//! Where files live in the object store. The events carry keys, never bytes, so the
//! services must agree on the layout: the web gateway stages uploads, the storage worker
//! checks, moves and sweeps them, and stores every verified file under its order.

use uuid::Uuid;

/// Uploads waiting for the storage worker: `staging/{order_id}/{file_id}`. A staged object
/// is never downloaded; one left behind by a crash is swept after a while.
pub const STAGING_PREFIX: &str = "staging/";

/// Verified files: `orders/{order_id}/{file_id}/{name}`, results under
/// `orders/{order_id}/results/{file_id}/{name}`.
pub const STORED_PREFIX: &str = "orders/";

/// Where a web upload of `file_id` waits for the storage worker.
pub fn staging_key(order_id: Uuid, file_id: Uuid) -> String {
    format!("{STAGING_PREFIX}{order_id}/{file_id}")
}

/// Where a customer's file is stored, given an already safe file name.
pub fn stored_key(order_id: Uuid, file_id: Uuid, safe_name: &str) -> String {
    format!("{STORED_PREFIX}{order_id}/{file_id}/{safe_name}")
}

/// Where a result file staff attached is stored, given an already safe file name.
pub fn result_key(order_id: Uuid, file_id: Uuid, safe_name: &str) -> String {
    format!("{STORED_PREFIX}{order_id}/results/{file_id}/{safe_name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sit_under_their_prefixes() {
        let (order, file) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(staging_key(order, file), format!("staging/{order}/{file}"));
        assert_eq!(
            stored_key(order, file, "a.pdf"),
            format!("orders/{order}/{file}/a.pdf")
        );
        assert_eq!(
            result_key(order, file, "a.pdf"),
            format!("orders/{order}/results/{file}/a.pdf")
        );
    }
}
