//! The one error type of the service. Every failure a client can cause or see
//! is a variant here; `grpc::status` maps each to a `tonic::Status` in one
//! place.

/// Everything that can go wrong while serving a request.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// A request field is missing or malformed; `field` names it.
    #[error("invalid {field}: {reason}")]
    InvalidArgument {
        /// The offending field, as named in the proto (e.g. `start.call_id`).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The request is well-formed but not allowed in the call's current state
    /// (e.g. a segment before `start`).
    #[error("{0}")]
    FailedPrecondition(String),
    /// The call (or suggestion) does not exist, or no longer exists.
    #[error("{0}")]
    NotFound(String),
    /// The call is live on another stream, or has already ended.
    #[error("{0}")]
    AlreadyExists(String),
    /// A configured limit was reached (live calls, watchers…).
    #[error("{0}")]
    ResourceExhausted(String),
    /// The request carries no valid bearer token while authentication is on.
    #[error("missing or invalid bearer token (send metadata `authorization: Bearer <token>`)")]
    Unauthenticated,
    /// Something this request needs is not reachable now (cluster mode:
    /// Redis); the message says what and that a retry may succeed.
    #[error("{0}")]
    Unavailable(String),
    /// The server is shutting down and takes no new work.
    #[error("server is shutting down")]
    ShuttingDown,
    /// The configuration is invalid; the message names the key.
    #[error("configuration: {0}")]
    Config(String),
    /// An I/O failure (binding the listener, reading a file…).
    #[error("{0}")]
    Io(String),
}

impl Error {
    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            field,
            reason: reason.into(),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}
