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
        Error::ShuttingDown | Error::Unavailable(_) => Code::Unavailable,
        Error::Config(_) | Error::Io(_) => Code::Internal,
    }
}

/// What went wrong when a client's inbound stream failed: `Some` when its
/// own message could not be taken (larger than `max_message_bytes`, or not
/// a valid protobuf message), which the client must be told; `None` when the
/// transport failed (the client left, reset the stream, lost its
/// connection), where there is nobody left to tell.
///
/// tonic reports an oversized message as `OUT_OF_RANGE` and an undecodable
/// one as `INTERNAL` with prost's "failed to decode" (or its framing
/// "protocol error"); transport failures come with other codes or texts.
pub fn inbound_failure(status: &Status) -> Option<Error> {
    let message = status.message();
    match status.code() {
        Code::OutOfRange => Some(Error::ResourceExhausted(format!(
            "a message is larger than the server accepts (max_message_bytes): {}",
            message.trim_start_matches("Error, ")
        ))),
        Code::Internal
            if message.starts_with("failed to decode") || message.starts_with("protocol error") =>
        {
            Some(Error::invalid(
                "message",
                format!("is not a valid StreamCallRequest: {message}"),
            ))
        }
        _ => None,
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
        let too_large = Status::out_of_range(
            "Error, decoded message length too large: found 1048600 bytes, the limit is: 4194 bytes",
        );
        let error = inbound_failure(&too_large).unwrap();
        assert_eq!(code(&error), Code::ResourceExhausted);
        assert!(error.to_string().contains("max_message_bytes"), "{error}");
        let garbled = Status::internal("failed to decode Protobuf message: invalid wire type");
        assert_eq!(
            inbound_failure(&garbled).map(|e| code(&e)),
            Some(Code::InvalidArgument)
        );
        assert_eq!(
            inbound_failure(&Status::cancelled("h2 protocol error: stream reset")),
            None,
            "a client that left is not told"
        );
        let status = Status::from(Error::invalid("start.call_id", "must not be empty"));
        assert_eq!(status.message(), "invalid start.call_id: must not be empty");
    }
}
