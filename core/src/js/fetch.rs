//! Fetches made by tasks, performed by the host (workers have no network of their own).
//! Mocks answer first, offline; otherwise the URL's host must be on the allow-list.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::protocol::{FetchRequest, FetchResponse};

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

/// Performs fetches for one engine: its allow-list and its HTTP client (one connection pool).
pub(crate) struct Fetcher {
    allow: Vec<String>,
    client: reqwest::Client,
}

impl Fetcher {
    pub fn new(allow: Vec<String>) -> Fetcher {
        Fetcher { allow, client: reqwest::Client::new() }
    }

    pub async fn fetch(&self, request: FetchRequest, mocks: &[HttpMock]) -> Result<FetchResponse, String> {
        if let Some(mock) = mocks.iter().find(|mock| mock.answers(&request)) {
            return Ok(mock.reply(&request));
        }
        let url = reqwest::Url::parse(&request.url).map_err(|e| format!("invalid URL: {e}"))?;
        if !self.allows(&url) {
            return Err(format!(
                "host `{}` is not on the fetch allow-list; add it to the engine's fetch_allow (or mock the request)",
                host_port(&url)
            ));
        }
        self.send(url, request).await.map_err(|e| e.to_string())
    }

    fn allows(&self, url: &reqwest::Url) -> bool {
        let host = url.host_str().unwrap_or_default();
        let host_port = host_port(url);
        self.allow.iter().any(|pattern| match pattern.strip_prefix("*.") {
            _ if pattern == "*" => true,
            Some(domain) => host.ends_with(&format!(".{domain}")),
            None => pattern == host || *pattern == host_port,
        })
    }

    async fn send(&self, url: reqwest::Url, request: FetchRequest) -> reqwest::Result<FetchResponse> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut builder = self.client.request(method, url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let response = builder.send().await?;
        let status = response.status();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        let url = response.url().to_string();
        let body = response.text().await?;
        Ok(FetchResponse { url, status: status.as_u16(), status_text: status.canonical_reason().unwrap_or("").into(), headers, body })
    }
}

fn host_port(url: &reqwest::Url) -> String {
    match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    }
}

fn status_text(status: u16) -> String {
    reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("").to_string()
}
