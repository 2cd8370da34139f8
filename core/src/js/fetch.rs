//! Fetches made by tasks, performed by the host (workers have no network of their own).
//!
//! Mocks answer first, offline: a canned reply never touches the network. Every other
//! request is held to the engine's [`FetchPolicy`]:
//!
//! - **Allow-list.** Only http and https, and only to a host and port that a `fetch_allow`
//!   pattern admits: `api.example.com` (that host on the scheme's default port, 80 for
//!   http and 443 for https), `api.example.com:8080` (that port only), `*.example.com` (its
//!   subdomains, default port), `*` (any host, default port), `*:8080`, and IP literals
//!   (`127.0.0.1:8080`, `[::1]:8080`).
//! - **Redirects.** Every hop is checked as the first URL was, and at most
//!   [`MAX_REDIRECTS`] are followed, so a redirect cannot walk around the allow-list.
//! - **Restricted addresses.** Loopback, private (RFC 1918, fc00::/7), shared, link-local
//!   (169.254/16 with the cloud metadata service, fe80::/10), unspecified, multicast and
//!   reserved addresses are reachable only through a pattern that names them: their IP
//!   literal, or `localhost`; `*`, wildcards and other names never do. A name is judged by
//!   the addresses it resolves to (the client's resolver), so DNS cannot rebind an allowed
//!   name onto them, and an IPv6 address carrying an IPv4 one by both. Requests go direct,
//!   never through a proxy from the environment, which would resolve names out of sight.
//! - **Headers.** `host`, the body's framing (`content-length`, `transfer-encoding`) and the
//!   connection's (`connection`, `keep-alive`, `upgrade`, `te`, `trailer`, `expect`,
//!   `proxy-*`) are the host's: a task that sets one is refused, mocked or not, so a test
//!   run reports what a live run would.
//! - **Response size.** A body is read in chunks up to `max_response_bytes` (the engine's
//!   `fetch_max_response_bytes`, 10 MiB by default) and refused past it.
//!
//! A refusal reaches the task as a `NetworkError` whose message says what to change.

mod address;
mod allow_list;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use self::address::Resolver;
use self::allow_list::AllowList;
use super::protocol::{FetchFailure, FetchRequest, FetchResponse};
use crate::error::Error;

/// The most redirects one fetch follows (as browsers and reqwest's default do).
const MAX_REDIRECTS: usize = 10;

/// Request headers only the host sets, and why.
const HOST_HEADERS: &[(&str, &str)] = &[
    ("host", "the host sets it from the URL"),
    ("content-length", "the host frames the body"),
    ("transfer-encoding", "the host frames the body"),
    ("connection", "the host manages the connection"),
    ("keep-alive", "the host manages the connection"),
    ("upgrade", "the host manages the connection"),
    ("te", "the host manages the connection"),
    ("trailer", "the host frames the body"),
    ("expect", "the host manages the connection"),
];

/// A canned answer for fetches whose method matches and whose URL equals or contains `url`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpMock {
    pub url: String,
    #[serde(default = "default_method")]
    pub method: String,
    #[serde(default = "default_status")]
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The reply's body: JSON (sent as its text), or a string sent as is.
    #[serde(default)]
    pub response: Value,
}

fn default_method() -> String {
    "GET".into()
}

fn default_status() -> u16 {
    200
}

impl HttpMock {
    /// Mocks as test cases and hosts give them: one mock object, a list of them, or null
    /// for none. The error names the offending entry.
    pub fn list_from_json(value: Value) -> Result<Vec<HttpMock>, String> {
        let entries = match value {
            Value::Null => return Ok(Vec::new()),
            Value::Array(entries) => entries,
            single @ Value::Object(_) => vec![single],
            other => return Err(format!("mocks must be a mock object or a list of them, not {other}")),
        };
        entries
            .into_iter()
            .enumerate()
            .map(|(index, entry)| serde_json::from_value(entry).map_err(|e| format!("mock [{index}]: {e}")))
            .collect()
    }

    fn answers(&self, request: &FetchRequest) -> bool {
        self.method.eq_ignore_ascii_case(&request.method) && (request.url == self.url || request.url.contains(&self.url))
    }

    fn reply(&self, request: &FetchRequest) -> FetchResponse {
        let body = match &self.response {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        let mut headers = self.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect::<BTreeMap<_, _>>();
        if !matches!(self.response, Value::String(_)) {
            headers.entry("content-type".into()).or_insert_with(|| "application/json".into());
        }
        FetchResponse { url: request.url.clone(), status: self.status, status_text: status_text(self.status), headers, body }
    }
}

/// What a task's fetches may reach and receive (see the module doc).
#[derive(Debug, Clone)]
pub(crate) struct FetchPolicy {
    /// The `fetch_allow` patterns, as the engine's options give them.
    pub allow: Vec<String>,
    /// The largest response body accepted, in bytes.
    pub max_response_bytes: usize,
}

/// Performs fetches for one engine: its policy and its HTTP client (one connection pool).
pub(crate) struct Fetcher {
    allow: Arc<AllowList>,
    max_response_bytes: usize,
    client: reqwest::Client,
}

impl Fetcher {
    /// Fails when an allow-list pattern is malformed or the HTTP client cannot start.
    pub fn new(policy: FetchPolicy) -> crate::error::Result<Fetcher> {
        let allow = Arc::new(AllowList::parse(&policy.allow).map_err(Error::Configuration)?);
        let client = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(Arc::new(Resolver))
            .redirect(redirect_policy(allow.clone()))
            .build()
            .map_err(|e| Error::Configuration(format!("the HTTP client for fetch cannot start: {}", describe(&e).message)))?;
        Ok(Fetcher { allow, max_response_bytes: policy.max_response_bytes, client })
    }

    pub async fn fetch(&self, request: FetchRequest, mocks: &[HttpMock]) -> Result<FetchResponse, FetchFailure> {
        check_headers(&request.headers).map_err(FetchFailure::refused)?;
        if let Some(mock) = mocks.iter().find(|mock| mock.answers(&request)) {
            return Ok(mock.reply(&request));
        }
        let url = reqwest::Url::parse(&request.url).map_err(|e| FetchFailure::refused(format!("invalid URL: {e}")))?;
        self.allow.check(&url).map_err(|refusal| FetchFailure::refused(refusal.0))?;
        self.send(url, request).await
    }

    async fn send(&self, url: reqwest::Url, request: FetchRequest) -> Result<FetchResponse, FetchFailure> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut builder = self.client.request(method, url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let response = builder.send().await.map_err(|e| describe(&e))?;
        let status = response.status();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        let url = response.url().to_string();
        let body = self.read_body(response, &url).await?;
        Ok(FetchResponse { url, status: status.as_u16(), status_text: status.canonical_reason().unwrap_or("").into(), headers, body })
    }

    /// Reads the body chunk by chunk, so a body announced or found larger than the budget
    /// is refused without ever being held whole.
    async fn read_body(&self, mut response: reqwest::Response, url: &str) -> Result<String, FetchFailure> {
        let limit = self.max_response_bytes;
        let too_large = || {
            FetchFailure::refused(format!(
                "the response of {url} is larger than the {limit}-byte limit; raise the engine's fetch_max_response_bytes to accept it"
            ))
        };
        if response.content_length().is_some_and(|length| length > limit as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(String::from_utf8(body).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }
}

/// Why a URL may not be fetched; the message says what to change. It travels through
/// reqwest (from the redirect policy and the resolver) and is recognised on the way out.
#[derive(Debug)]
struct Refusal(String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

/// Follows a redirect only to a URL the allow-list admits, and only so many times.
fn redirect_policy(allow: Arc<AllowList>) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        // `previous` holds the first URL and every hop followed so far.
        if attempt.previous().len() > MAX_REDIRECTS {
            let refusal = Refusal(format!("stopped after {MAX_REDIRECTS} redirects, at {}", attempt.url()));
            return attempt.error(refusal);
        }
        match allow.check(attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(Refusal(why)) => {
                let refusal = Refusal(format!("redirect to {} refused: {why}", attempt.url()));
                attempt.error(refusal)
            }
        }
    })
}

fn check_headers(headers: &BTreeMap<String, String>) -> Result<(), String> {
    for name in headers.keys().map(|name| name.to_ascii_lowercase()) {
        let host_only = HOST_HEADERS.iter().find(|(header, _)| *header == name).map(|(_, why)| *why);
        let why = host_only.or_else(|| name.starts_with("proxy-").then_some("fetch uses no proxy"));
        if let Some(why) = why {
            return Err(format!("a task may not set the `{name}` header ({why}); remove it from the request"));
        }
    }
    Ok(())
}

/// A policy refusal as it was worded (not retryable); any other error with its causes,
/// which reqwest's own message leaves out ("error sending request" says nothing of why).
fn describe(error: &(dyn std::error::Error + 'static)) -> FetchFailure {
    let chain: Vec<&(dyn std::error::Error + 'static)> = std::iter::successors(Some(error), |e| e.source()).collect();
    match chain.iter().find_map(|e| e.downcast_ref::<Refusal>()) {
        Some(refusal) => FetchFailure::refused(refusal.0.clone()),
        None => FetchFailure { message: chain.iter().map(ToString::to_string).collect::<Vec<_>>().join(": "), retryable: true },
    }
}

fn status_text(status: u16) -> String {
    reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("").to_string()
}
