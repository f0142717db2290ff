//! The one place where [`Error`] becomes a `tonic::Status`.

use crate::Error;
use tonic::{Code, Status};

/// The gRPC status code of each error.
pub fn code(error: &Error) -> Code {
    match error {
        Error::InvalidArgument { .. } => Code::InvalidArgument,
        Error::FailedPrecondition(_) => Code::FailedPrecondition,
        Error::NotFound(_) => Code::NotFound,
        Error::AlreadyExists(_) => Code::AlreadyExists,
        Error::ResourceExhausted(_) => Code::ResourceExhausted,
        Error::Unauthenticated => Code::Unauthenticated,
        Error::ShuttingDown => Code::Unavailable,
        Error::Config(_) | Error::Io(_) => Code::Internal,
    }
}

/// The snake-case name of a code, as the rejection metric labels it.
fn name(code: Code) -> &'static str {
    match code {
        Code::InvalidArgument => "invalid_argument",
        Code::FailedPrecondition => "failed_precondition",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::ResourceExhausted => "resource_exhausted",
        Code::Unauthenticated => "unauthenticated",
        Code::Unavailable => "unavailable",
        Code::Internal => "internal",
        _ => "other",
    }
}

impl From<Error> for Status {
    /// Every refusal the service makes passes here, so it is counted here.
    fn from(error: Error) -> Self {
        let code = code(&error);
        crate::instruments::rejected(name(code));
        Status::new(code, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_maps_to_the_code_a_client_expects() {
        let cases = [
            (
                Error::invalid("start.call_id", "must not be empty"),
                Code::InvalidArgument,
            ),
            (
                Error::FailedPrecondition("x".into()),
                Code::FailedPrecondition,
            ),
            (Error::NotFound("x".into()), Code::NotFound),
            (Error::AlreadyExists("x".into()), Code::AlreadyExists),
            (
                Error::ResourceExhausted("x".into()),
                Code::ResourceExhausted,
            ),
            (Error::Unauthenticated, Code::Unauthenticated),
            (Error::ShuttingDown, Code::Unavailable),
            (Error::Io("x".into()), Code::Internal),
        ];
        for (error, expected) in cases {
            assert_eq!(Status::from(error).code(), expected);
        }
        let status = Status::from(Error::invalid("start.call_id", "must not be empty"));
        assert_eq!(status.message(), "invalid start.call_id: must not be empty");
    }
}
