//! A tiny recording HTTP server for the clients' tests: it answers each
//! request with the next canned response and keeps what it received.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One request as the server saw it (query values decoded).
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn params(&self, key: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A canned answer: status, extra headers, body.
pub type Canned = (u16, Vec<(&'static str, String)>, String);

#[derive(Clone, Default)]
struct Shared {
    requests: Arc<Mutex<Vec<Recorded>>>,
    responses: Arc<Mutex<VecDeque<Canned>>>,
}

pub struct FakeServer {
    pub base_url: String,
    shared: Shared,
}

impl FakeServer {
    /// Starts a server answering with `responses` in order (status, body).
    pub async fn start(responses: Vec<(u16, String)>) -> Self {
        Self::start_with_headers(
            responses
                .into_iter()
                .map(|(s, b)| (s, Vec::new(), b))
                .collect(),
        )
        .await
    }

    pub async fn start_with_headers(responses: Vec<Canned>) -> Self {
        let shared = Shared::default();
        shared.responses.lock().unwrap().extend(responses);
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        // Bind first, then serve: the port is ready before the test sends.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base_url, shared }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }
}

async fn handle(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    shared.requests.lock().unwrap().push(Recorded {
        method,
        path: uri.path().to_owned(),
        query,
        headers,
        body: body.to_vec(),
    });
    let next = shared.responses.lock().unwrap().pop_front();
    match next {
        Some((status, extra, body)) => {
            let mut response = (StatusCode::from_u16(status).unwrap(), body).into_response();
            for (name, value) in extra {
                response.headers_mut().insert(name, value.parse().unwrap());
            }
            response
                .headers_mut()
                .insert("content-type", "application/json".parse().unwrap());
            response
        }
        None => (StatusCode::INTERNAL_SERVER_ERROR, "no canned response left").into_response(),
    }
}
