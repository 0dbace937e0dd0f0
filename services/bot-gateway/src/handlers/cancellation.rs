//! A customer cancelling their order: asked first, then published as the customer's status
//! change, only while the order is still theirs, still cancellable and still at the status
//! version they were shown. The change's event is built in one place:
//! [`publish::cancellation_event`](crate::publish::cancellation_event).

use chrono::Utc;

use super::context::Press;
use super::deferred::HandlerResult;
use crate::keyboards;
use crate::order_lookup::OrderDetails;
use crate::publish::cancellation_event;
use crate::texts::key;

/// "Cancel the order": asks first, with the status version the customer is looking at.
pub async fn ask(press: Press, order: OrderDetails) -> HandlerResult {
    if !order.status.customer_may_cancel() {
        return press.outdated();
    }
    press.show(
        press.format(key::ORDER_CANCEL_QUESTION, &[("number", &order.number)]),
        keyboards::cancel_question(press.words(), &order),
    );
    Ok(())
}

/// "Yes, cancel it", carrying the status version the question showed. When the broker does
/// not take the change, the update is deferred and the customer told it will be done.
pub async fn cancel(press: Press, order: OrderDetails, version: u32) -> HandlerResult {
    if !order.status.customer_may_cancel() || order.version != version {
        return press.outdated();
    }
    let event = cancellation_event(
        order.id,
        &order.number,
        order.status,
        order.version,
        Utc::now(),
    );
    let what = format!("cancellation of {}", order.id);
    press
        .publish_or_defer(&what, &[event], key::ORDER_CANCEL_DEFERRED)
        .await?;
    tracing::info!(order_id = %order.id, order_number = %order.number, "order cancelled by the customer");
    press.show(
        press.format(key::ORDER_CANCELLED, &[("number", &order.number)]),
        keyboards::order_list_back(press.words()),
    );
    Ok(())
}
