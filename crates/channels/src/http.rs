//! HTTP plumbing shared by the clients: one pooled reqwest client with
//! timeouts, sending a prepared request, and turning transport failures and
//! bare HTTP statuses into [`ChannelError`]s.
//!
//! Logging here names the marketplace, the operation and the path only:
//! query strings carry tokens and signatures (and TikTok's token endpoint
//! carries the app secret), so a URL is never logged or put in an error.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use storesync_domain::Marketplace;

use crate::error::ChannelError;

/// Timeouts and identification for a client's connection pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// Whole-request limit, connect to last body byte.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// How long an idle pooled connection is kept for reuse.
    pub pool_idle_timeout: Duration,
    pub user_agent: String,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            pool_idle_timeout: Duration::from_secs(90),
            user_agent: concat!("storesync/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// Builds the pooled client a marketplace client keeps for its lifetime.
///
/// Redirects are not followed: no marketplace API redirects, and following
/// one would carry a signed query string to a host we did not choose.
pub fn build_http_client(settings: &HttpSettings) -> Result<reqwest::Client, ChannelError> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(settings.timeout)
        .connect_timeout(settings.connect_timeout)
        .pool_idle_timeout(settings.pool_idle_timeout)
        .user_agent(settings.user_agent.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| ChannelError::config(format!("cannot build HTTP client: {}", e.without_url())))
}

tokio::task_local! {
    static CALL_TIMEOUT: Duration;
}

/// Run `f`, whose marketplace calls each give up after `timeout` instead of
/// the client's configured limit. For work that is better sent again than
/// waited for: a stock push whose call hangs holds back every listing of
/// its shop. A call given up on may still have been applied, and is
/// reported as such.
pub async fn with_call_timeout<F: std::future::Future>(timeout: Duration, f: F) -> F::Output {
    CALL_TIMEOUT.scope(timeout, f).await
}

/// A marketplace's raw answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

/// Sends `request` and reads the whole body.
pub(crate) async fn execute(
    client: &reqwest::Client,
    request: reqwest::Request,
    marketplace: Marketplace,
    operation: &'static str,
) -> Result<Reply, ChannelError> {
    let mut request = request;
    if let Ok(limit) = CALL_TIMEOUT.try_with(|t| *t) {
        let timeout = request.timeout_mut();
        *timeout = Some(timeout.map_or(limit, |t| t.min(limit)));
    }
    let path = request.url().path().to_owned();
    let started = Instant::now();
    let result = async {
        let response = client.execute(request).await?;
        let status = response.status();
        let retry_after = parse_retry_after(response.headers());
        let body = response.bytes().await?.to_vec();
        Ok::<_, reqwest::Error>(Reply {
            status,
            retry_after,
            body,
        })
    }
    .await;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(reply) => {
            tracing::debug!(
                marketplace = %marketplace,
                operation,
                path = %path,
                status = reply.status.as_u16(),
                elapsed_ms,
                "marketplace call"
            );
            Ok(reply)
        }
        Err(e) => {
            let error = transport_error(e);
            tracing::warn!(
                marketplace = %marketplace,
                operation,
                path = %path,
                elapsed_ms,
                error = %error,
                "marketplace call failed"
            );
            Err(error)
        }
    }
}

/// Classifies a transport failure. `without_url` matters: reqwest's error
/// text otherwise includes the full URL with token and signature.
pub(crate) fn transport_error(e: reqwest::Error) -> ChannelError {
    let e = e.without_url();
    if e.is_timeout() {
        ChannelError::transient("request timed out")
    } else if e.is_connect() {
        ChannelError::transient("could not connect")
    } else {
        ChannelError::transient(format!("request failed: {e}"))
    }
}

/// Classification from the HTTP status alone, for answers whose body is not
/// the marketplace's envelope (a proxy's error page, an empty 502).
pub(crate) fn status_error(reply: &Reply) -> ChannelError {
    let status = reply.status;
    if status == StatusCode::TOO_MANY_REQUESTS {
        ChannelError::RateLimited {
            retry_after: reply.retry_after,
        }
    } else if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        ChannelError::transient(format!("HTTP {}", status.as_u16()))
    } else if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        ChannelError::Unauthorized {
            code: format!("http_{}", status.as_u16()),
            message: "the marketplace refused the request".into(),
        }
    } else {
        ChannelError::protocol(format!(
            "HTTP {} without a readable marketplace envelope",
            status.as_u16()
        ))
    }
}

/// `Retry-After` in whole seconds (the only form the marketplaces use).
fn parse_retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Joins a configured base URL (`https://host` or `http://127.0.0.1:PORT`,
/// optionally with a path prefix) and an API path.
pub(crate) fn join_url(base: &url::Url, path: &str) -> Result<url::Url, ChannelError> {
    let joined = format!("{}{}", base.as_str().trim_end_matches('/'), path);
    url::Url::parse(&joined).map_err(|_| ChannelError::config(format!("bad API path {path:?}")))
}

/// Parses a configured base URL, refusing anything but http(s).
pub(crate) fn parse_base_url(name: &str, value: &str) -> Result<url::Url, ChannelError> {
    let url = url::Url::parse(value)
        .map_err(|e| ChannelError::config(format!("{name} {value:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
        return Err(ChannelError::config(format!(
            "{name} {value:?} must be an http(s) URL without a query"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            retry_after: Some(Duration::from_secs(3)),
            body: Vec::new(),
        }
    }

    #[test]
    fn bare_statuses_are_classified() {
        assert_eq!(
            status_error(&reply(429)),
            ChannelError::RateLimited {
                retry_after: Some(Duration::from_secs(3))
            }
        );
        assert!(status_error(&reply(503)).is_retryable());
        assert!(status_error(&reply(408)).is_retryable());
        assert!(matches!(
            status_error(&reply(401)),
            ChannelError::Unauthorized { .. }
        ));
        assert!(matches!(
            status_error(&reply(404)),
            ChannelError::Protocol { .. }
        ));
    }

    #[test]
    fn base_urls_join_with_paths() {
        let base = parse_base_url("base", "http://127.0.0.1:8080/").unwrap();
        assert_eq!(
            join_url(&base, "/api/v2/shop/get_shop_info")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8080/api/v2/shop/get_shop_info"
        );
        let prefixed = parse_base_url("base", "http://127.0.0.1:8080/shopee").unwrap();
        assert_eq!(
            join_url(&prefixed, "/api/v2/x").unwrap().as_str(),
            "http://127.0.0.1:8080/shopee/api/v2/x"
        );
        assert!(parse_base_url("base", "ftp://x").is_err());
        assert!(parse_base_url("base", "not a url").is_err());
        assert!(parse_base_url("base", "http://x/?a=1").is_err());
    }

    #[tokio::test]
    async fn transport_errors_never_carry_the_url() {
        // Port 9 on localhost is closed in every CI image we use; the request
        // fails to connect and the error must not echo the signed query.
        let client = build_http_client(&HttpSettings::default()).unwrap();
        let request = client
            .get("http://127.0.0.1:9/api?access_token=SECRET_TOKEN&sign=SIG")
            .build()
            .unwrap();
        let err = execute(&client, request, Marketplace::Shopee, "test")
            .await
            .unwrap_err();
        assert!(err.is_retryable());
        let text = format!("{err} {err:?}");
        assert!(
            !text.contains("SECRET_TOKEN") && !text.contains("SIG"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_call_timeout_gives_up_on_a_call_that_hangs() {
        // A listener that accepts and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                open.push(socket);
            }
        });
        let client = build_http_client(&HttpSettings::default()).unwrap();
        let request = client.get(format!("http://{addr}/slow")).build().unwrap();
        // Without the call timeout this waits for the client's 30 s.
        let err = tokio::time::timeout(
            Duration::from_secs(10),
            with_call_timeout(
                Duration::from_millis(200),
                execute(&client, request, Marketplace::Shopee, "test"),
            ),
        )
        .await
        .expect("the call was given up on")
        .unwrap_err();
        assert!(err.may_have_applied(), "{err}");
        held.abort();
    }
}
