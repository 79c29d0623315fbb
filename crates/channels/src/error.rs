//! The one error type of this crate: every marketplace answer and transport
//! failure is classified into what the caller should do next.
//!
//! The classes are chosen for the engine's retry logic, not for display:
//! `TokenExpired` means "refresh, then retry once" (see
//! [`crate::with_token_refresh`]), `RateLimited` and `Transient` mean "retry
//! later with backoff", everything else is permanent until a person or a code
//! change intervenes. Messages carry the marketplace's own code and message,
//! never a token, secret, signature or full URL.

use std::time::Duration;

/// What went wrong talking to a marketplace, classified by what to do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// The access token is expired or no longer accepted. Refresh the token
    /// and retry the call once; if the refresh fails too, the seller has to
    /// authorize again.
    #[error("access token expired or invalid ({code}: {message})")]
    TokenExpired { code: String, message: String },

    /// The credentials are valid but not for this: revoked authorization,
    /// refresh token expired or reused, missing scope, token for another shop,
    /// caller IP not allowed. Refreshing does not help; the seller must
    /// authorize again (or the app configuration must be fixed).
    #[error("not authorized ({code}: {message})")]
    Unauthorized { code: String, message: String },

    /// The marketplace throttled us. Retry after the given delay, or after a
    /// backoff of the caller's choosing when the marketplace named none.
    #[error("rate limited by the marketplace{}", retry_hint(.retry_after))]
    RateLimited { retry_after: Option<Duration> },

    /// A fault that may go away on its own: 5xx, timeouts, connection errors,
    /// the marketplace's "internal error, retry" codes.
    #[error("transient marketplace failure: {reason}")]
    Transient { reason: String },

    /// The marketplace refused the request for a reason that retrying will
    /// not change (bad parameters, business rule). Code and message are the
    /// marketplace's own.
    #[error("rejected by the marketplace ({code}: {message})")]
    Invalid { code: String, message: String },

    /// The marketplace rejected our signature or timestamp. This is a bug in
    /// the signer, wrong app credentials, or a badly skewed clock: permanent
    /// and worth an alert.
    #[error("request signature or timestamp rejected ({code}: {message})")]
    Signature { code: String, message: String },

    /// The answer could not be understood (malformed JSON, missing fields,
    /// an order status the mapping tables do not know). Permanent until the
    /// client is updated.
    #[error("unexpected answer from the marketplace: {message}")]
    Protocol { message: String },

    /// An inbound webhook failed verification or could not be parsed; the
    /// receiver should answer 401 and change nothing.
    #[error("webhook rejected: {reason}")]
    WebhookRejected { reason: String },

    /// The client was configured or called with values it cannot use (a base
    /// URL that does not parse, a Shopee shop id that is not a number).
    #[error("invalid channel configuration or input: {message}")]
    Config { message: String },
}

fn retry_hint(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(" (retry after {} ms)", d.as_millis()),
        None => String::new(),
    }
}

impl ChannelError {
    /// Whether the caller should refresh the access token and retry once.
    pub fn needs_token_refresh(&self) -> bool {
        matches!(self, ChannelError::TokenExpired { .. })
    }

    /// Whether retrying the same call later can succeed without any change.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ChannelError::RateLimited { .. } | ChannelError::Transient { .. }
        )
    }

    /// Whether the marketplace may have acted on the call before it failed:
    /// a timeout or server error may come after the change was made, an
    /// unreadable answer was an answer. A throttle, a token or signature
    /// refusal, or a rejected request changed nothing.
    pub fn may_have_applied(&self) -> bool {
        matches!(
            self,
            ChannelError::Transient { .. } | ChannelError::Protocol { .. }
        )
    }

    /// The delay the marketplace asked for, if it named one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ChannelError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    pub(crate) fn protocol(message: impl Into<String>) -> Self {
        ChannelError::Protocol {
            message: message.into(),
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        ChannelError::Config {
            message: message.into(),
        }
    }

    pub(crate) fn webhook(reason: impl Into<String>) -> Self {
        ChannelError::WebhookRejected {
            reason: reason.into(),
        }
    }

    pub(crate) fn transient(reason: impl Into<String>) -> Self {
        ChannelError::Transient {
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_tell_the_caller_what_to_do() {
        let expired = ChannelError::TokenExpired {
            code: "105002".into(),
            message: "expired".into(),
        };
        assert!(expired.needs_token_refresh());
        assert!(!expired.is_retryable());

        let limited = ChannelError::RateLimited {
            retry_after: Some(Duration::from_secs(2)),
        };
        assert!(limited.is_retryable());
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(
            limited.to_string(),
            "rate limited by the marketplace (retry after 2000 ms)"
        );

        assert!(ChannelError::transient("timeout").is_retryable());
        let invalid = ChannelError::Invalid {
            code: "error_param".into(),
            message: "bad".into(),
        };
        assert!(!invalid.is_retryable() && !invalid.needs_token_refresh());
    }
}
