//! Bearer-token authentication as a tonic interceptor: it resolves the
//! request's tenant and puts it in the request extensions, where handlers
//! read it with [`tenant`]. Health checks are not intercepted.

use crate::{auth::Tokens, session::Tenant, Error};
use std::sync::Arc;
use tonic::{Request, Status};

/// The metadata key carrying `Bearer <token>`.
pub const AUTHORIZATION: &str = "authorization";

/// An interceptor that admits requests with a known token (or every
/// request when authentication is off) and records their tenant.
pub fn interceptor(
    tokens: Arc<Tokens>,
) -> impl Fn(Request<()>) -> Result<Request<()>, Status> + Clone + Send + Sync + 'static {
    move |mut request: Request<()>| {
        let tenant = if tokens.enabled() {
            let header = request
                .metadata()
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            tokens
                .authenticate(header)
                .cloned()
                .ok_or(Error::Unauthenticated)?
        } else {
            Tenant::default()
        };
        request.extensions_mut().insert(tenant);
        Ok(request)
    }
}

/// The tenant the interceptor resolved. Fails closed: a request that did not
/// pass the interceptor is refused.
pub fn tenant<T>(request: &Request<T>) -> Result<Tenant, Error> {
    request
        .extensions()
        .get::<Tenant>()
        .cloned()
        .ok_or(Error::Unauthenticated)
}
