//! Who is on the other end of the connection: the client's address, from the connection
//! itself or, behind a reverse proxy, from the header the proxy sets.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use super::{AppState, Error};

/// The client's address, as sign-in limits count it.
pub struct ClientAddress(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = &state.settings.web_gateway.client_address_header;
        if !header.is_empty() {
            // The proxy appends the address it saw last; anything before it the client
            // could have written itself.
            let forwarded = parts
                .headers
                .get_all(header.as_str())
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(|value| value.split(','))
                .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
                .next_back();
            if let Some(address) = forwarded {
                return Ok(ClientAddress(address));
            }
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| address.ip())
            // Served without connection info (a test calling the router directly): one
            // address for all, the strictest reading.
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        Ok(ClientAddress(peer))
    }
}
