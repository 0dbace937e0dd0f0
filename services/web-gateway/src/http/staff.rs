//! The staff side of orders: the list (`GET /api/staff/orders`), status change requests
//! (`POST /api/staff/orders/{order_id}/status`) and what became of them
//! (`GET /api/staff/status-requests/{request_id}`).
//!
//! Every `/api/staff/...` route (here, and downloads, results, link revocation and the feed
//! in their modules) takes a [`Clerk`]: it passes the same gate as the back office's pages
//! (`office::gate`, the permission matrix by role and by object) and writes its actions to
//! the same audit log (`staff_audit`), with the same action names.
//!
//! A status change is a request: checked here against the state machine and the staff
//! member's role (for quick answers to what cannot work), then published as
//! `OrderStatusChangeRequested` with the status version the staff member saw
//! (`expected_version`, default: the version read now). The persistence worker decides it
//! once, as a compare-and-set, and only a recorded change is announced to anyone. The
//! answer is 202 with the request's id: the page shows "pending" until the request
//! endpoint (or the live feed) says recorded or refused.

use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bureau_accounts::Account;

use proto_events::{Actor, Envelope, OrderStatus, TransitionError};
use serde::Deserialize;
use uuid::Uuid;

use super::auth::Staff;
use super::extract::{Json, Query};
use super::listing::Listing;
use super::openapi::ErrorBody;
use super::{AppState, Error};
use crate::domain::{Page, StatusReason};
use crate::idempotency::{self, Claim, Fingerprint, IdempotencyKey};
use crate::office::gate::{self, Refused};
use crate::office::permissions::Act;
use crate::office::{Desk, remote_addr};
use crate::queries::office::{self as reads, Audit, Scope};
use crate::queries::{self, OrderState, StaffOrderLine};
use crate::status_requests::{self, Asked, RequestAccepted, RequestView};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/staff/orders", get(list_orders))
        .route("/api/staff/orders/{order_id}/status", post(change_status))
        .route(
            "/api/staff/status-requests/{request_id}",
            get(status_request),
        )
}

/// A staff member calling the JSON API, and where the call came from (for the audit log).
pub(crate) struct Clerk {
    pub account: Account,
    pub remote: Option<String>,
}

impl FromRequestParts<AppState> for Clerk {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Staff(account) = Staff::from_request_parts(parts, state).await?;
        Ok(Clerk {
            account,
            remote: remote_addr(parts),
        })
    }
}

/// What the API says when the matrix refuses: the same for every order that is not this
/// staff member's to touch, so it tells nothing about the order.
pub(crate) const NOT_YOURS: &str =
    "Not yours to do: the order is assigned to someone else, or your role does not do this.";

impl Clerk {
    /// The order `order_id`, if it exists and this staff member may do `act` to it (404
    /// with `not_found` when it does not exist, 403 when the matrix refuses).
    pub async fn may(
        &self,
        state: &AppState,
        order_id: &str,
        act: Act,
        not_found: &'static str,
    ) -> Result<Uuid, Error> {
        gate::order(
            &state.pool,
            &self.account,
            Desk::policy(state),
            order_id,
            act,
        )
        .await
        .map(|(order_id, _)| order_id)
        .map_err(|refused| match refused {
            Refused::NotFound => Error::NotFound(not_found),
            Refused::NotYours => Error::Forbidden(NOT_YOURS),
            Refused::Database(error) => Error::from(error),
        })
    }

    /// The lists and the feed: allowed to every staff role, narrowed by [`Clerk::scope`].
    pub fn may_see_lists(&self, state: &AppState) -> Result<(), Error> {
        gate::lists(&self.account, Desk::policy(state)).map_err(|_| Error::Forbidden(NOT_YOURS))
    }

    /// Which orders this staff member's lists hold.
    pub fn scope(&self, state: &AppState) -> Scope {
        crate::office::scope_of(&self.account, state)
    }

    /// Appends the action to the audit log, as the pages do; a failure to write it fails
    /// the request before anything is done.
    pub async fn audit(
        &self,
        state: &AppState,
        action: &str,
        order_id: Option<Uuid>,
        subject: Option<&str>,
        detail: Option<&str>,
    ) -> Result<(), Error> {
        reads::audit(
            &state.pool,
            Audit {
                account_id: Some(self.account.id),
                action,
                order_id,
                subject,
                detail,
                remote_addr: self.remote.clone(),
            },
        )
        .await
        .map_err(Error::from)
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StaffListQuery {
    /// Only orders in this status (`awaiting_confirmation`, `accepted`, ...).
    status: Option<String>,
    page: Option<String>,
    after: Option<String>,
}

/// Every order, newest first, paged; optionally of one status.
#[utoipa::path(
    get,
    path = "/api/staff/orders",
    tag = "staff",
    security(("session" = [])),
    params(StaffListQuery),
    responses(
        (status = 200, description = "One page", body = Listing<crate::queries::StaffOrderLine>),
        (status = "4XX", description = "Not signed in, not staff, an unknown status or a bad page", body = ErrorBody),
    )
)]
pub(crate) async fn list_orders(
    State(state): State<AppState>,
    clerk: Clerk,
    Query(query): Query<StaffListQuery>,
) -> Result<axum::Json<Listing<StaffOrderLine>>, Error> {
    clerk.may_see_lists(&state)?;
    let page = Page::parse(query.page.as_deref(), query.after.as_deref())
        .map_err(|e| Error::unprocessable("invalid_page", e))?;
    let status = match query
        .status
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(name) => Some(parse_status(name)?),
    };
    let rows = queries::staff_orders(&state.pool, clerk.scope(&state), status, page).await?;
    Ok(axum::Json(Listing::from_rows(
        page,
        rows,
        StaffOrderLine::place,
    )))
}

fn parse_status(name: &str) -> Result<OrderStatus, Error> {
    OrderStatus::parse(name).ok_or_else(|| {
        let known: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
        Error::unprocessable(
            "unknown_status",
            format!(
                "`{name}` is not a status; statuses are {}.",
                known.join(", ")
            ),
        )
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct StatusChangeRequest {
    /// The status to move to (`accepted`, `in_progress`, ...).
    pub to: String,
    pub reason: Option<String>,
    /// The status version the staff member saw; the change is made only at it. Default:
    /// the version the gateway reads now.
    pub expected_version: Option<u32>,
}

const NO_SUCH_ORDER: &str = "No such order.";
const NO_SUCH_REQUEST: &str = "No such status change request.";

/// With an `Idempotency-Key`, a retried change gets the first answer (see
/// [`crate::idempotency`]); a retry after a failed publish republishes the very request
/// the first attempt reserved, so it is decided once.
#[utoipa::path(
    post,
    path = "/api/staff/orders/{order_id}/status",
    tag = "staff",
    security(("session" = [])),
    params(
        ("order_id" = String, Path, description = "The order's id (a UUID)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key get the first answer"),
    ),
    request_body = StatusChangeRequest,
    responses(
        (status = 202, description = "Asked; follow `request_url` for the outcome", body = crate::status_requests::RequestAccepted),
        (status = 409, description = "The state machine does not allow it from where the order is", body = ErrorBody),
        (status = "4XX", description = "Not signed in, not allowed for this role, no such order, or a bad body", body = ErrorBody),
        (status = 503, description = "The broker is down: nothing was asked (`Retry-After`)", body = ErrorBody),
    )
)]
pub(crate) async fn change_status(
    State(state): State<AppState>,
    clerk: Clerk,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    Json(request): Json<StatusChangeRequest>,
) -> Result<Response, Error> {
    clerk
        .may(&state, &order_id, Act::ChangeStatus, NO_SUCH_ORDER)
        .await?;
    let staff = &clerk.account;
    let Some(key) = IdempotencyKey::from_headers(&headers)? else {
        return Ok(
            match prepare_status_change(&state, staff, &order_id, &request).await {
                Ok(event) => audited_publish(&state, &clerk, event).await.into_response(),
                Err(error) => error.into_response(),
            },
        );
    };
    let fingerprint = Fingerprint::new("POST /api/staff/orders/{order_id}/status")
        .field(&order_id)
        .field(request.to.trim())
        .field(request.reason.as_deref().unwrap_or(""))
        .field(
            &request
                .expected_version
                .map(|v| v.to_string())
                .unwrap_or_default(),
        )
        .finish();
    let account_id = staff.id;
    let reserved =
        match idempotency::claim(&state.pool, account_id, &key, &fingerprint, None).await? {
            Claim::Replay(response) | Claim::Refuse(response) => return Ok(response),
            Claim::Fresh | Claim::Abandoned(None) => None,
            Claim::Abandoned(Some(reserved)) => Some(reserved),
        };
    let event = match reserved {
        // An earlier attempt reserved its request: publish that one, never a second.
        Some(json) => Envelope::from_json(json.as_bytes())
            .ok()
            .filter(|event| status_requests::request_of(event).is_some())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "idempotency key {} has no readable reserved request",
                    key.as_str()
                )
            })
            .map_err(Error::from),
        None => match prepare_status_change(&state, staff, &order_id, &request).await {
            Ok(event) => {
                let json = String::from_utf8_lossy(&event.to_json()).into_owned();
                idempotency::reserve(&state.pool, account_id, &key, &json).await?;
                Ok(event)
            }
            Err(error) => Err(error),
        },
    };
    let response = match event {
        Ok(event) => audited_publish(&state, &clerk, event).await.into_response(),
        Err(error) => error.into_response(),
    };
    Ok(idempotency::finish(&state.pool, account_id, &key, response).await?)
}

/// Checks what can be checked now and builds the request.
pub(crate) async fn prepare_status_change(
    state: &AppState,
    staff: &Account,
    order_id: &str,
    request: &StatusChangeRequest,
) -> Result<Envelope, Error> {
    let order_id = Uuid::parse_str(order_id).map_err(|_| Error::NotFound(NO_SUCH_ORDER))?;
    let to = parse_status(request.to.trim())?;
    let reason = StatusReason::parse(request.reason.as_deref())
        .map_err(|e| Error::unprocessable("invalid_reason", e))?;

    let OrderState {
        order_number,
        status,
        status_version,
    } = queries::order_state(&state.pool, order_id)
        .await?
        .ok_or(Error::NotFound(NO_SUCH_ORDER))?;
    let from = OrderStatus::parse(&status).ok_or_else(|| {
        anyhow::anyhow!("order {order_id} has unknown status `{status}` in the database")
    })?;
    let expected_version = request.expected_version.unwrap_or(status_version);
    if expected_version != status_version {
        // Versions only grow: the staff member looked at an older (or made-up) state.
        return Err(Error::Conflict {
            code: "version_conflict",
            message: format!(
                "Order №{order_number} changed since you saw it: it is now {from} (version {status_version}), you saw version {expected_version}."
            ),
        });
    }
    from.transition(to, reason.as_ref().map(StatusReason::as_str))
        .map_err(transition_error)?;
    if !staff.role.may_move_order(from, to) {
        return Err(Error::Forbidden(
            "Executors can only start work on accepted orders and mark work in progress as ready.",
        ));
    }
    Ok(Asked {
        order_id,
        order_number,
        expected_version,
        from,
        to,
        reason: reason.map(|r| r.as_str().to_owned()),
        actor: Actor::Staff {
            account_id: staff.id,
        },
        quote_id: None,
    }
    .event())
}

/// Writes the request to the audit log as the pages do (`status_change_requested`, the
/// request's id, `from -> to: reason`), then publishes it.
async fn audited_publish(
    state: &AppState,
    clerk: &Clerk,
    event: Envelope,
) -> Result<Response, Error> {
    let asked = status_requests::request_of(&event)
        .ok_or_else(|| anyhow::anyhow!("not a status change request"))?;
    clerk
        .audit(
            state,
            "status_change_requested",
            Some(asked.order_id),
            Some(&asked.request_id.to_string()),
            Some(&status_change_detail(asked)),
        )
        .await?;
    publish_request(state, event).await
}

/// `accepted -> rejected: the reason`, as the audit log shows a status change request.
pub(crate) fn status_change_detail(asked: &proto_events::OrderStatusChangeRequested) -> String {
    format!(
        "{} -> {}{}",
        asked.from,
        asked.to,
        asked
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    )
}

/// Publishes a staff member's request; 202 with its id and where to follow it.
async fn publish_request(state: &AppState, event: Envelope) -> Result<Response, Error> {
    status_requests::publish(&state.pool, &state.bus, &event).await?;
    let request = status_requests::request_of(&event)
        .ok_or_else(|| anyhow::anyhow!("not a status change request"))?;
    let url = format!("/api/staff/status-requests/{}", request.request_id);
    tracing::info!(order_id = %request.order_id, from = %request.from, to = %request.to,
        expected_version = request.expected_version, request_id = %request.request_id,
        "status change requested");
    let mut response = (
        StatusCode::ACCEPTED,
        axum::Json(RequestAccepted::new(request, url.clone())),
    )
        .into_response();
    if let Ok(location) = HeaderValue::from_str(&url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `GET /api/staff/status-requests/{request_id}`: pending, recorded (with the version) or
/// refused (with the code, the reason and where the order is).
/// A request is seen by whoever may see its order.
#[utoipa::path(
    get,
    path = "/api/staff/status-requests/{request_id}",
    tag = "staff",
    security(("session" = [])),
    params(("request_id" = String, Path, description = "The request's id (a UUID)")),
    responses(
        (status = 200, description = "Pending, recorded or refused", body = crate::status_requests::RequestView),
        (status = "4XX", description = "Not signed in, not staff, or no such request", body = ErrorBody),
    )
)]
pub(crate) async fn status_request(
    State(state): State<AppState>,
    clerk: Clerk,
    Path(request_id): Path<String>,
) -> Result<axum::Json<RequestView>, Error> {
    let request_id = Uuid::parse_str(&request_id).map_err(|_| Error::NotFound(NO_SUCH_REQUEST))?;
    let view = status_requests::view(&state.pool, request_id, None)
        .await?
        .ok_or(Error::NotFound(NO_SUCH_REQUEST))?;
    clerk
        .may(
            &state,
            &view.order_id.to_string(),
            Act::SeeOrder,
            NO_SUCH_REQUEST,
        )
        .await?;
    Ok(axum::Json(view))
}

/// The state machine's verdict as an answer: an impossible move conflicts with where the
/// order is (409); a missing reason is a fixable request (422).
pub(crate) fn transition_error(error: TransitionError) -> Error {
    let message = sentence(&error.to_string());
    match error {
        TransitionError::NotAllowed { .. } => Error::Conflict {
            code: "transition_not_allowed",
            message,
        },
        TransitionError::ReasonRequired { .. } => Error::unprocessable("reason_required", message),
        TransitionError::NotForCustomers { .. } => Error::Conflict {
            code: "not_allowed_for_customer",
            message,
        },
    }
}

/// "an order cannot go from a to b" -> "An order cannot go from a to b."
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_machine_speaks_in_sentences() {
        let error = transition_error(TransitionError::NotAllowed {
            from: OrderStatus::Delivered,
            to: OrderStatus::InProgress,
        });
        assert!(matches!(
            error,
            Error::Conflict {
                code: "transition_not_allowed",
                ..
            }
        ));
        assert_eq!(
            error.to_string(),
            "An order cannot go from delivered to in_progress."
        );
        let error = transition_error(TransitionError::ReasonRequired {
            from: OrderStatus::Accepted,
            to: OrderStatus::Rejected,
        });
        assert!(matches!(
            error,
            Error::Unprocessable {
                code: "reason_required",
                ..
            }
        ));
    }

    #[test]
    fn unknown_status_names_list_the_known_ones() {
        let error = parse_status("done").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("`done` is not a status; statuses are awaiting_confirmation, quoted,")
        );
        assert_eq!(
            parse_status("in_progress").unwrap(),
            OrderStatus::InProgress
        );
    }
}
